"""Output names that keep images apart: each image's path relative to the folder all the
images share, without the suffix (cam1/0001.jpg -> "cam1/0001", cam2/0001.jpg -> "cam2/0001").

Outputs are written under those names as subfolders, so two cameras' 0001.jpg never
overwrite each other. Two files that differ only in their suffix (0001.jpg, 0001.png) keep
it, with the dot made an underscore ("0001_jpg", "0001_png").

A tool writes several files per name (<name>.json, <name>.receipt.json, ...) and files of
its own (summary.json), so names alone being distinct is not enough: tray.receipt.jpg's
<name>.json is tray.jpg's <name>.receipt.json, and summary.jpg's is the run's summary.json.
`output_names` changes just the names whose outputs would meet another's.
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Iterable, Sequence


def relative_names(paths: Sequence) -> list[str]:
    paths = [Path(os.path.abspath(p)) for p in paths]
    if not paths:
        return []
    common = Path(os.path.commonpath([str(p.parent) for p in paths]))
    relative = [p.relative_to(common) for p in paths]
    stems = [r.with_suffix("").as_posix() for r in relative]
    clash = Counter(stems)
    return [s if clash[s] == 1 else r.with_name(r.name.replace(".", "_")).as_posix()
            for s, r in zip(stems, relative)]


def output_names(paths: Sequence, suffixes: Iterable[str], reserved: Iterable[str] = ()) -> list[str]:
    """relative_names, with every name whose outputs <name><suffix> would be another name's
    output, a `reserved` file, or a folder another name needs (or the other way round)
    changed: first its dots made underscores (tray.receipt -> tray_receipt), then its file's
    suffix added (summary -> summary_jpg), then a number. Names without dots are settled
    first, so a plain name keeps its outputs. Compared without case: on macOS and Windows
    Tray.json and tray.json are one file."""
    suffixes = tuple(suffixes)
    names = relative_names(paths)
    files = {f.casefold() for f in reserved}  # outputs taken so far
    folders: set[str] = set()  # folders the names taken so far write into
    chosen: dict[int, str] = {}
    for i in sorted(range(len(names)), key=lambda k: (names[k].count("."), names[k])):
        for name in _candidates(names[i], Path(paths[i]).suffix):
            mine = {(name + s).casefold() for s in suffixes}
            parents = {p.as_posix().casefold() for p in PurePosixPath(name).parents if p.name}
            if not (mine & files or mine & folders or parents & files):
                files |= mine
                folders |= parents
                chosen[i] = name
                break
    return [chosen[i] for i in range(len(names))]


def _candidates(name: str, suffix: str):
    yield name
    plain = name.replace(".", "_")  # a dot can no longer end where a derived suffix begins
    yield plain
    tagged = f"{plain}_{suffix.lstrip('.')}" if suffix else plain
    yield tagged
    k = 2
    while True:
        yield f"{tagged}_{k}"
        k += 1
