"""Output names that keep images apart: each image's path relative to the folder all the
images share, without the suffix (cam1/0001.jpg -> "cam1/0001", cam2/0001.jpg -> "cam2/0001").

Outputs are written under those names as subfolders, so two cameras' 0001.jpg never
overwrite each other. Two files that differ only in their suffix (0001.jpg, 0001.png) keep
it, with the dot made an underscore ("0001_jpg", "0001_png").
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Sequence


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
