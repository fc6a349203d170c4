"""Bad images never kill a run: an image that fails to decode is skipped and counted.

`SkipBadImages(dataset, refill)` wraps a dataset for a DataLoader. When dataset[i] raises
DatasetError (unreadable, truncated, empty file, size changed since loading):
  - refill=True (training): the next readable index (i + 1, i + 2, ... wrapping) takes its
    place, so every batch keeps its size. No random number is drawn for the swap (the failed
    read comes before any augmentation), so a run stays reproducible.
  - refill=False (evaluation): a placeholder (None, {"bad_images": [...]}) comes back and
    the tracked loader drops it: no image is scored twice, and the report can say which
    images were left out.
The sample's target carries "bad_images": [(file, problem)], the one way news of a failure
travels from a DataLoader worker process to the main process.

`BadImageTracker` (main process) takes that key out of every batch (`tracker.wrap(loader)`),
logs one line naming each new file, counts distinct files together with the images the
loader already skipped as unusable (missing, unreadable header, size mismatch), and raises
DatasetError once they pass the limit: `max_bad_images` images, default 1 % of the split
(an int is a count, a float below 1 a fraction). `tracker.counts()` is what a training loop
logs (TensorBoard, metrics.json).

Under DDP each rank meets the bad files of its own shard, and a limit checked by one rank
alone would stop that rank mid-step while the others wait in a collective (a hang), or never
trip at all when the files are spread over the ranks. So a distributed run makes its trackers
``deferred``: ``add`` only records, and at every checkpoint the trainer calls ``sync()`` on
every rank (the union of all ranks' files, a collective) and, once the checkpoint is written,
``check()``, which then raises on every rank alike.
"""
from __future__ import annotations

import functools
import math

import torch

from ..distributed import get_world_size, is_distributed
from .checks import DatasetError

DEFAULT_MAX_BAD_FRACTION = 0.01


def bad_image_limit(max_bad_images, num_images: int) -> int:
    """How many bad images a split of `num_images` may have before a run stops."""
    if max_bad_images is None:
        max_bad_images = DEFAULT_MAX_BAD_FRACTION
    if isinstance(max_bad_images, float) and 0 <= max_bad_images < 1:
        return int(math.floor(max_bad_images * num_images))
    if isinstance(max_bad_images, bool) or int(max_bad_images) != max_bad_images or max_bad_images < 0:
        raise ValueError(f"max_bad_images must be a count (int >= 0) or a fraction (0 <= x < 1), "
                         f"not {max_bad_images!r}")
    return int(max_bad_images)


class SkipBadImages(torch.utils.data.Dataset):
    def __init__(self, dataset, refill: bool):
        self.dataset, self.refill = dataset, refill

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name):  # classes, records, aspect_ratios, ... of the wrapped dataset
        if name in ("dataset", "refill") or name.startswith("__"):
            raise AttributeError(name)  # (unpickling in a worker asks before they exist)
        return getattr(self.dataset, name)

    def __getitem__(self, i: int):
        bad = []
        n = len(self.dataset)
        for k in range(n):
            try:
                image, target = self.dataset[(i + k) % n]
            except DatasetError as error:
                bad.append((error.path, error.problem))
                if self.refill:
                    continue
                return None, {"bad_images": bad}
            target["bad_images"] = bad
            return image, target
        raise DatasetError(getattr(self.dataset, "source", ""), f"none of its {n} images can be read")


class BadImageTracker:
    def __init__(self, name: str, dataset, max_bad_images=None, say=functools.partial(print, flush=True)):
        self.name, self.say = name, say
        self.total = int(getattr(dataset, "num_listed", len(dataset)))
        try:
            self.limit = bad_image_limit(max_bad_images, self.total)
        except ValueError as e:
            raise DatasetError(f"data.max_bad_images: {e}") from None
        skipped = getattr(dataset, "skipped", None)
        self.files = {p.file: p.reason for p in (skipped.bad_images() if skipped is not None else [])}
        self.at_load = len(self.files)
        self.deferred = False  # True under DDP: the limit is checked at checkpoints (sync, check)
        if self.files:
            shown = ", ".join(list(self.files)[:5]) + (f" (+{len(self.files) - 5} more)" if len(self.files) > 5 else "")
            self.say(f"[data] {name}: {self.at_load} unusable at load: {shown}")
        self.check()

    def add(self, file: str, problem: str) -> None:
        if file in self.files:
            return
        self.files[file] = problem
        self.say(f"[data] {self.name}: skipped unreadable image {file}: {problem} "
                 f"({len(self.files)} bad of {self.total}, limit {self.limit})")
        if not self.deferred:
            self.check()

    def sync(self) -> None:
        """Take in every rank's files (a collective under DDP: all ranks call it; else nothing)."""
        if is_distributed():
            parts = [None] * get_world_size()
            torch.distributed.all_gather_object(parts, dict(self.files))
            for part in parts:
                for file, problem in part.items():
                    self.files.setdefault(file, problem)

    def check(self) -> None:
        """Raise DatasetError, naming the files, when they are more than the limit allows."""
        if len(self.files) <= self.limit:
            return
        shown = "\n  ".join(f"{f}: {p}" for f, p in list(self.files.items())[:10])
        raise DatasetError(f"{len(self.files)} of {self.total} images of the {self.name} split cannot be "
                           f"used, more than max_bad_images allows ({self.limit}):\n  {shown}")

    def state_dict(self) -> dict:
        return {"files": dict(self.files)}

    def load_state_dict(self, state: dict) -> None:
        """A resumed run keeps counting from where it stopped (and against the same limit)."""
        for file, problem in (state.get("files") or {}).items():
            self.files.setdefault(file, problem)
        self.check()

    def wrap(self, loader) -> "TrackedLoader":
        return TrackedLoader(loader, self)

    def counts(self) -> dict:
        """{"bad_images", "at_load", "while_running", "of", "limit", "files"} for the logs."""
        return {"bad_images": len(self.files), "at_load": self.at_load,
                "while_running": len(self.files) - self.at_load, "of": self.total,
                "limit": self.limit, "files": sorted(self.files)}


class TrackedLoader:
    """A loader view that hands every failure to the tracker and drops placeholders."""

    def __init__(self, loader, tracker: BadImageTracker):
        self.loader, self.tracker = loader, tracker

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name):  # dataset, sampler, batch_sampler of the DataLoader
        if name in ("loader", "tracker") or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.loader, name)

    def __iter__(self):
        from ..engine.worker_signals import start_workers  # engine imports data: import here

        for images, targets in start_workers(self.loader):
            kept_images, kept_targets = [], []
            for image, target in zip(images, targets):
                for file, problem in target.pop("bad_images", ()):
                    self.tracker.add(file, problem)
                if image is not None:
                    kept_images.append(image)
                    kept_targets.append(target)
            if kept_images:  # an evaluation batch of nothing but bad images yields nothing
                yield kept_images, kept_targets


def image_coverage(loader) -> dict:
    """{"num_images_listed": M, "bad_images": counts} of an evaluation loader, as far as known.

    Under DDP every rank saw its own share of bad files; they are gathered (a collective:
    call it on every rank, as evaluation does)."""
    out = {}
    listed = getattr(getattr(loader, "dataset", None), "num_listed", None)
    if listed is not None:
        out["num_images_listed"] = int(listed)
    tracker = getattr(loader, "tracker", None)
    if isinstance(tracker, BadImageTracker):
        tracker.sync()
        out["bad_images"] = tracker.counts()
    return out
