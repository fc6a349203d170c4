"""Validation shared by the loaders and the dataset checker.

Names: N objects in one image; boxes float32 [N, 4] xyxy in 0-based continuous pixel
coordinates (pixel i covers [i, i + 1)), so a W x H image spans [0, W] x [0, H].

Policy (see datasets/README.md): a problem confined to one image or one object is a counted
entry in a ProblemLog (skipped image, dropped object, clipped box) that the checker and the
training log report. A problem that makes the whole dataset wrong (unknown class, duplicate
COCO image ids) is a FATAL entry: the loader records every one of them, then raises one
DatasetError listing them all (the checker instead reports them beside everything else).
Unparseable JSON, a missing annotation file or folder raise at once: nothing can follow.
Every entry has a `kind` (what went wrong, e.g. "size mismatch") for grouped reports.
"""
from __future__ import annotations

import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np

from ..errors import UserError

FATAL = "fatal"
SKIPPED_IMAGE = "skipped image"
DROPPED_OBJECT = "dropped object"
CLIPPED_BOX = "clipped box"

# kinds of skipped image that are not a damaged or missing file, but the split's policy
# (a training set drops images without objects) or a listing repeat; they never count as bad
POLICY_KINDS = frozenset({"no objects", "duplicate listing"})


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
    action: str  # FATAL, SKIPPED_IMAGE, DROPPED_OBJECT or CLIPPED_BOX
    kind: str = ""  # short group name for reports ("image file not found", "size mismatch", ...)


class ProblemLog:
    """What a loader found, as (file, reason, action, kind) entries.

    strict=True turns every non-fatal entry but a clipped box into a DatasetError at once
    (fail fast on a tree that should be clean).
    """

    def __init__(self, strict: bool = False):
        self.strict = strict
        self.entries: list[Problem] = []

    def add(self, file, reason: str, action: str, kind: str = "") -> None:
        if self.strict and action not in (CLIPPED_BOX, FATAL):
            raise DatasetError(file, f"{reason} (strict mode; would be: {action})")
        self.entries.append(Problem(str(file), reason, action, kind or action))

    def counts(self) -> Counter:
        """Counter of actions, e.g. {'skipped image': 2, 'dropped object': 5}."""
        return Counter(p.action for p in self.entries)

    def by_kind(self) -> dict[tuple[str, str], list[Problem]]:
        """(action, kind) -> entries, fatal groups first, then by size."""
        groups: dict[tuple[str, str], list[Problem]] = defaultdict(list)
        for p in self.entries:
            groups[(p.action, p.kind)].append(p)
        order = {FATAL: 0, SKIPPED_IMAGE: 1, DROPPED_OBJECT: 2, CLIPPED_BOX: 3}
        return dict(sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 9), -len(kv[1]), kv[0][1])))

    def fatal(self) -> list[Problem]:
        return [p for p in self.entries if p.action == FATAL]

    def bad_images(self) -> list[Problem]:
        """Images lost to a missing, unreadable, mismatched or unlisted file (not to policy)."""
        return [p for p in self.entries if p.action == SKIPPED_IMAGE and p.kind not in POLICY_KINDS]

    def raise_if_fatal(self, source) -> None:
        """One DatasetError naming every fatal problem (grouped), if there is any."""
        fatal = self.fatal()
        if not fatal:
            return
        lines = []
        for (_, kind), group in self.by_kind().items():
            if group[0].action != FATAL:
                continue
            shown = [f"{p.file}: {p.reason}" for p in group[:10]]
            more = f"\n    ... and {len(group) - 10} more" if len(group) > 10 else ""
            lines.append(f"{kind} ({len(group)}):\n    " + "\n    ".join(shown) + more)
        if len(fatal) == 1:
            raise DatasetError(fatal[0].file, fatal[0].reason)
        raise DatasetError(source, f"{len(fatal)} fatal problems\n  " + "\n  ".join(lines))

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
            log.add(file, f"{what}: non-finite coordinate", DROPPED_OBJECT, "bad box")
            keep[i] = False
            continue
        if b[2] <= b[0] or b[3] <= b[1]:
            log.add(file, f"{what}: zero or negative size", DROPPED_OBJECT, "bad box")
            keep[i] = False
            continue
        c = np.array([min(max(b[0], 0), width), min(max(b[1], 0), height),
                      min(max(b[2], 0), width), min(max(b[3], 0), height)], dtype=np.float32)
        if c[2] <= c[0] or c[3] <= c[1]:
            log.add(file, f"{what}: wholly outside the {width}x{height} image", DROPPED_OBJECT,
                    "box outside the image")
            keep[i] = False
        elif not np.array_equal(c, b):
            log.add(file, f"{what}: partly outside the {width}x{height} image, clipped to "
                          f"{c.tolist()}", CLIPPED_BOX, "box partly outside the image")
            boxes[i] = c
    return keep


def safe_join(root, relative: str) -> Path | None:
    """root / relative, or None when `relative` as written leaves root ('..', an absolute path).

    Decided on the path as written, not on where links lead: a symlink inside the image folder
    may point anywhere (sets are often assembled from links to a shared pool), while a
    file_name can never climb out of the folder it is relative to.
    """
    if not relative or os.path.isabs(relative):
        return None
    root_n = os.path.normpath(os.path.abspath(root))
    target = os.path.normpath(os.path.join(root_n, relative))
    if not target.startswith(root_n.rstrip(os.sep) + os.sep):
        return None
    return Path(target)


def missing_file_reason(path: Path) -> tuple[str, str]:
    """(reason, kind) for a path that is not a readable file: says when it is a broken link."""
    if path.is_symlink():
        return f"is a symlink to {os.readlink(path)}, which does not exist", "broken symlink"
    if path.is_dir():
        return "is a folder, not an image file", "image file not found"
    return "image file not found", "image file not found"
