"""Validation shared by the loaders and the dataset checker.

Names: N objects in one image; boxes float32 [N, 4] xyxy in 0-based continuous pixel
coordinates (pixel i covers [i, i + 1)), so a W x H image spans [0, W] x [0, H].

Policy (see datasets/README.md): a problem that makes the whole dataset wrong (unparseable
JSON, unknown class, duplicate COCO image ids) raises DatasetError; a problem confined to one
image or one object is a counted entry in a ProblemLog (skipped image, dropped object,
clipped box) that the checker and the training log report.
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np

from ..errors import UserError

SKIPPED_IMAGE = "skipped image"
DROPPED_OBJECT = "dropped object"
CLIPPED_BOX = "clipped box"


class DatasetError(UserError):
    """A dataset problem; the message always names the file it comes from.

    A UserError: the tools print it without a traceback, with build_dataset's next step."""

    hint = ("the message names the file; python tools/check_dataset.py lists every problem of a dataset "
            "at once (datasets/README.md shows each layout)")

    def __init__(self, path, problem: str | None = None):
        if problem is None:  # DatasetError("message"), as DataLoader workers re-raise it
            path, problem = "", str(path)
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)

    def __reduce__(self):  # picklable across DataLoader worker processes
        return DatasetError, (self.path, self.problem)


class Problem(NamedTuple):
    file: str
    reason: str
    action: str  # SKIPPED_IMAGE, DROPPED_OBJECT or CLIPPED_BOX


class ProblemLog:
    """What a loader skipped, dropped or clipped, as (file, reason, action) entries.

    strict=True turns every entry into a DatasetError instead (fail fast on a tree that
    should be clean).
    """

    def __init__(self, strict: bool = False):
        self.strict = strict
        self.entries: list[Problem] = []

    def add(self, file, reason: str, action: str) -> None:
        if self.strict and action != CLIPPED_BOX:
            raise DatasetError(file, f"{reason} (strict mode; would be: {action})")
        self.entries.append(Problem(str(file), reason, action))

    def counts(self) -> Counter:
        """Counter of actions, e.g. {'skipped image': 2, 'dropped object': 5}."""
        return Counter(p.action for p in self.entries)

    def summary(self) -> str:
        c = self.counts()
        return ", ".join(f"{n} {a}{'s' if n != 1 else ''}" for a, n in sorted(c.items())) or "nothing"

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.entries)


def sanitize_boxes(boxes: np.ndarray, width: int, height: int, file, log: ProblemLog,
                   names: list[str] | None = None) -> np.ndarray:
    """Clip boxes to the image and return the mask of boxes to keep.

    Dropped (counted): non-finite coordinates, zero or negative size as annotated, nothing
    left inside the image after clipping. Clipped (counted as a note): partly outside.
    """
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    keep = np.ones(len(boxes), dtype=bool)
    for i, b in enumerate(boxes):
        what = f"object {i}" + (f" '{names[i]}'" if names else "") + f" box {b.tolist()}"
        if not np.all(np.isfinite(b)):
            log.add(file, f"{what}: non-finite coordinate", DROPPED_OBJECT)
            keep[i] = False
            continue
        if b[2] <= b[0] or b[3] <= b[1]:
            log.add(file, f"{what}: zero or negative size", DROPPED_OBJECT)
            keep[i] = False
            continue
        c = np.array([min(max(b[0], 0), width), min(max(b[1], 0), height),
                      min(max(b[2], 0), width), min(max(b[3], 0), height)], dtype=np.float32)
        if c[2] <= c[0] or c[3] <= c[1]:
            log.add(file, f"{what}: wholly outside the {width}x{height} image", DROPPED_OBJECT)
            keep[i] = False
        elif not np.array_equal(c, b):
            log.add(file, f"{what}: partly outside the {width}x{height} image, clipped to "
                          f"{c.tolist()}", CLIPPED_BOX)
            boxes[i] = c
    return keep


def safe_join(root, relative: str) -> Path | None:
    """root / relative, or None when the result would leave root ('..', absolute paths,
    symlinks pointing elsewhere)."""
    root_real = Path(os.path.realpath(root))
    target = Path(os.path.realpath(os.path.join(root_real, relative)))
    if target == root_real or root_real not in target.parents:
        return None
    return target
