"""Copy-paste augmentation: train on exemplars by composing a tray per sample, on the fly.

``data.copy_paste: true`` (hl_detect/data/splits.py) wraps the training split: sample i is a
tray (tray_synthesis.compose_tray) whose first product is exemplar i's and whose others are
drawn from the whole split, then goes through the split's own train transform (resize,
flip, scale and colour jitter) like any image. ``data.copy_paste_options`` holds the
TrayConfig keys, plus ``method`` (cut-out: background | grabcut) and ``backgrounds`` (a
folder of empty-tray photos). Nothing is written to disk; cut-outs are cached per worker.

Randomness: the trainer reseeds the transform before every sample (engine/data_order.py,
SeededSamples); the tray draws from [that seed, 27] so it neither repeats the augmentation's
draws nor depends on the worker, and a resumed run composes the same trays. Indexed without
a reseed, tray i draws from [i]: the same tray every time.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .base import DetectionDataset
from .exemplar_pool import ExemplarPool, entries_of
from .tray_synthesis import TrayConfig, compose_tray

_STREAM = 27  # the tray's own stream beside the augmentation's (same sample seed)
_SIZE_STREAM = 28  # with extra_tray_sizes: which size sample i's trays have
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class _Reseedable:
    """The split's transform, remembering the seed of the sample it is about to transform."""

    def __init__(self, inner):
        self.inner, self.seed = inner, None

    def reseed(self, seed: int) -> None:
        self.seed = int(seed)
        if getattr(self.inner, "reseed", None) is not None:
            self.inner.reseed(seed)

    def __call__(self, **kw):
        return self.inner(**kw)


class CopyPasteTrays(DetectionDataset):
    composes_trays = True  # data/exemplar_gap.py: this split's samples are trays

    def __init__(self, exemplars: DetectionDataset, config: TrayConfig, method: str = "background",
                 backgrounds=()):
        entries = entries_of(exemplars)
        self.pool = ExemplarPool(entries, method=method, max_image_pixels=exemplars.max_image_pixels)
        self.config, self.backgrounds = config, list(backgrounds)
        first = {}
        for k, e in enumerate(entries):
            first.setdefault(str(e.path), k)
        self.anchor = [first[str(r.path)] for r in exemplars.records]  # every training record has an object
        super().__init__(exemplars.records, exemplars.classes, _Reseedable(exemplars.transforms), exemplars.skipped,
                         f"{exemplars.source} (copy-paste trays)", categories=exemplars.categories,
                         num_listed=exemplars.num_listed, max_image_pixels=exemplars.max_image_pixels)

    def size_of(self, i: int) -> tuple[int, int]:
        """Sample i's tray size: fixed per index (a sampler may group by it), drawn from
        [i, _SIZE_STREAM] so it does not follow the anchor's class."""
        sizes = self.config.sizes()
        return sizes[int(np.random.default_rng([i, _SIZE_STREAM]).integers(len(sizes)))]  # a fresh stream: no draw to save

    def get_height_and_width(self, i: int) -> tuple[int, int]:
        return self.size_of(i)

    def aspect_ratios(self) -> list[float]:
        return [w / h for h, w in (self.size_of(i) for i in range(len(self)))]

    def __getitem__(self, i: int):
        seed = self.transforms.seed
        rng = np.random.default_rng([i] if seed is None else [seed, _STREAM])
        config = self.config if not self.config.extra_tray_sizes else replace(
            self.config, tray_size=self.size_of(i), extra_tray_sizes=())
        tray = compose_tray(rng, self.pool, config, self.backgrounds, first=self.anchor[i])
        return self.sample(tray.image, tray.boxes, tray.labels, np.zeros(len(tray.labels), bool),
                           self.records[i].image_id)


def copy_paste_trays(exemplars: DetectionDataset, options: dict | None) -> CopyPasteTrays:
    """The training split as on-the-fly trays, from data.copy_paste_options."""
    options = dict(options or {})
    method = options.pop("method", "background")
    folder = options.pop("backgrounds", None)
    backgrounds = []
    if folder:
        if not Path(folder).is_dir():
            raise ConfigError(f"data.copy_paste_options.backgrounds: folder {folder} not found")
        backgrounds = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not backgrounds:
            raise ConfigError(f"data.copy_paste_options.backgrounds: no images in {folder}")
    return CopyPasteTrays(exemplars, TrayConfig.from_options(options), method, backgrounds)
