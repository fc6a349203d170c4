"""What tools/check_dataset.py prints: a dataset's content and every problem, in one pass.

check_dataset() takes an eval-mode dataset built with collect_fatal=True (every object kept,
fatal problems recorded rather than raised), optionally decodes every image (threads: PIL
releases the GIL while decoding) and returns a DatasetReport. Problems are grouped by kind
with counts. The verdict is FAILED when anything is fatal:
  - a fatal problem (unknown category, duplicate ids, a category id named differently);
  - no usable image at all;
  - more unusable images (missing, unreadable, size mismatch, undecodable) than
    max_bad_images allows (default 1 % of the images listed), the limit a run stops at;
  - with strict, any skipped image or dropped object.
"""
from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .bad_images import bad_image_limit
from .exemplar_gap import exemplar_note
from .base import check_decodes
from .image_io import DEFAULT_MAX_IMAGE_PIXELS
from .checks import CLIPPED_BOX, FATAL, SKIPPED_IMAGE, DatasetError, Problem, ProblemLog

DECODE_KIND = "unreadable image (full decode)"


@dataclass
class DatasetReport:
    source: str
    classes: list
    num_listed: int = 0
    num_usable: int = 0
    objects_per_class: Counter = field(default_factory=Counter)  # label -> count
    difficult: int = 0
    images_without_objects: int = 0
    train_empty_images: int = 0  # images a training set drops (only difficult/crowd objects)
    problems: ProblemLog = field(default_factory=ProblemLog)  # loader's entries + decode failures
    decoded: bool = False
    bad_limit: int = 0
    fatal_reasons: list = field(default_factory=list)
    single_object_images: int = 0
    notes: list = field(default_factory=list)  # advice that is not a problem (exemplar_gap.py)

    @property
    def ok(self) -> bool:
        return not self.fatal_reasons

    @property
    def num_bad(self) -> int:
        return len(self.problems.bad_images())


def check_dataset(ds, decode: bool = True, workers: int = 4, max_bad_images=None,
                  strict: bool = False) -> DatasetReport:
    problems = ProblemLog()
    problems.entries = list(ds.skipped)
    rep = DatasetReport(getattr(ds, "source", ""), list(ds.classes), num_listed=ds.num_listed,
                        num_usable=len(ds), problems=problems, decoded=decode)
    for r in ds.records:
        rep.objects_per_class.update(int(x) for x in r.labels)
        nd = int(r.difficult.sum())
        rep.difficult += nd
        rep.images_without_objects += len(r.labels) == 0
        rep.train_empty_images += len(r.labels) > 0 and nd == len(r.labels)
        rep.single_object_images += len(r.labels) == 1
    note = exemplar_note(ds)
    if note:
        rep.notes.append(note)
    if decode:
        def one(r):
            try:
                check_decodes(r, getattr(ds, "max_image_pixels", DEFAULT_MAX_IMAGE_PIXELS))
            except DatasetError as e:
                return Problem(e.path, e.problem, SKIPPED_IMAGE, DECODE_KIND)
        with ThreadPoolExecutor(max(1, workers)) as pool:
            failed = [x for x in pool.map(one, ds.records) if x is not None]
        problems.entries += failed
        rep.num_usable -= len(failed)
    rep.bad_limit = bad_image_limit(max_bad_images, rep.num_listed)
    fatal = problems.fatal()
    if fatal:
        kinds = Counter(p.kind for p in fatal)
        rep.fatal_reasons.append(f"{len(fatal)} fatal problem(s): " + ", ".join(f"{n} {k}" for k, n in kinds.items()))
    if rep.num_usable == 0:
        rep.fatal_reasons.append(f"no usable images (0 of {rep.num_listed} listed)")
    if rep.num_bad > rep.bad_limit:
        rep.fatal_reasons.append(f"{rep.num_bad} of {rep.num_listed} images unusable, more than max_bad_images "
                                 f"allows ({rep.bad_limit}); a run would stop")
    if strict:
        other = [p for p in problems if p.action not in (FATAL, CLIPPED_BOX)]
        if other:
            rep.fatal_reasons.append(f"--strict: {len(other)} skipped images / dropped objects")
    return rep


def format_report(rep: DatasetReport, max_problems: int = 50) -> str:
    """The report; `max_problems` examples are listed per kind of problem."""
    total = sum(rep.objects_per_class.values())
    usable = f"{rep.num_usable} usable of {rep.num_listed} listed" if rep.num_usable < rep.num_listed \
        else f"{rep.num_usable}"
    lines = [f"dataset: {rep.source}",
             f"images: {usable}   objects: {total}   difficult/crowd: {rep.difficult} "
             f"(not difficult: {total - rep.difficult})   classes: {len(rep.classes)}",
             f"images without objects: {rep.images_without_objects}   with exactly one object: "
             f"{rep.single_object_images}   images a training set drops (only difficult/crowd objects): "
             f"{rep.train_empty_images}",
             "objects per class:"]
    width = max((len(c) for c in rep.classes), default=0)
    for k, name in enumerate(rep.classes, start=1):
        lines.append(f"  {k:4d} {name:<{width}} {rep.objects_per_class.get(k, 0):7d}")
    groups = rep.problems.by_kind()
    lines.append(f"problems: {len(rep.problems)}, by kind" if groups else "problems: none")
    for (action, kind), group in groups.items():
        tag = "FATAL" if action == FATAL else action
        lines.append(f"  [{tag}] {kind}: {len(group)}")
        for p in group[:max_problems]:
            lines.append(f"      {p.file}: {p.reason}")
        if len(group) > max_problems:
            lines.append(f"      ... and {len(group) - max_problems} more")
    if not rep.decoded:
        lines.append("images not decoded (--no-decode): only headers were read")
    lines.append(f"unusable images (missing, unreadable, size mismatch): {rep.num_bad} of {rep.num_listed}, "
                 f"limit {rep.bad_limit} (max_bad_images)")
    lines += rep.notes
    if rep.ok:
        lines.append("RESULT: OK")
    else:
        lines.append("RESULT: FAILED")
        lines += [f"  - {reason}" for reason in rep.fatal_reasons]
    return "\n".join(lines)
