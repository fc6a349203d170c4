"""What tools/check_dataset.py prints: a dataset's content and its problems.

check_dataset() takes an eval-mode dataset (keeps every object, difficult ones included),
optionally decodes every image (threads: PIL releases the GIL while decoding) and returns a
DatasetReport; fatal problems are the ones that would raise DatasetError during training.
"""
from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .base import check_decodes
from .checks import DatasetError


@dataclass
class DatasetReport:
    source: str
    classes: list
    num_images: int = 0
    objects_per_class: Counter = field(default_factory=Counter)  # label -> count
    difficult: int = 0
    images_without_objects: int = 0
    train_empty_images: int = 0  # images a training set drops (only difficult/crowd objects)
    problems: list = field(default_factory=list)  # loader's ProblemLog entries
    fatal: list = field(default_factory=list)  # (file, reason): would fail at __getitem__
    decoded: bool = False

    @property
    def ok(self) -> bool:
        return not self.fatal


def check_dataset(ds, decode: bool = True, workers: int = 4) -> DatasetReport:
    rep = DatasetReport(getattr(ds, "source", ""), list(ds.classes), num_images=len(ds),
                        problems=list(ds.skipped), decoded=decode)
    for r in ds.records:
        rep.objects_per_class.update(int(x) for x in r.labels)
        nd = int(r.difficult.sum())
        rep.difficult += nd
        rep.images_without_objects += len(r.labels) == 0
        rep.train_empty_images += len(r.labels) > 0 and nd == len(r.labels)
    if decode:
        def one(r):
            try:
                check_decodes(r)
            except DatasetError as e:
                return (e.path, e.problem)
        with ThreadPoolExecutor(max(1, workers)) as pool:
            rep.fatal = [x for x in pool.map(one, ds.records) if x is not None]
    return rep


def format_report(rep: DatasetReport, max_problems: int = 50) -> str:
    total = sum(rep.objects_per_class.values())
    lines = [f"dataset: {rep.source}",
             f"images: {rep.num_images}   objects: {total}   difficult/crowd: {rep.difficult} "
             f"(not difficult: {total - rep.difficult})   classes: {len(rep.classes)}",
             f"images without objects: {rep.images_without_objects}   images a training set "
             f"drops (only difficult/crowd objects): {rep.train_empty_images}",
             "objects per class:"]
    width = max((len(c) for c in rep.classes), default=0)
    for k, name in enumerate(rep.classes, start=1):
        lines.append(f"  {k:4d} {name:<{width}} {rep.objects_per_class.get(k, 0):7d}")
    counts = Counter(p.action for p in rep.problems)
    lines.append(f"skipped / dropped / clipped at load time: {len(rep.problems)} "
                 f"{dict(counts) if counts else ''}".rstrip())
    for p in rep.problems[:max_problems]:
        lines.append(f"  [{p.action}] {p.file}: {p.reason}")
    if len(rep.problems) > max_problems:
        lines.append(f"  ... and {len(rep.problems) - max_problems} more")
    if rep.decoded:
        lines.append(f"images that fail to decode or mismatch their annotation: {len(rep.fatal)}")
        for f, reason in rep.fatal[:max_problems]:
            lines.append(f"  [FATAL] {f}: {reason}")
    else:
        lines.append("images not decoded (--no-decode)")
    lines.append("RESULT: " + ("OK" if rep.ok else "FAILED (fix the files above)"))
    return "\n".join(lines)
