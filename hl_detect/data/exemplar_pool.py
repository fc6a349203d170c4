"""Exemplar products as sprites: the cut-outs tray synthesis pastes.

An ExemplarPool lists every product of a training split (one per annotation; RPC's exemplars
hold one each) and cuts it out on first use (cutout.py: the annotation's COCO segmentation
when it has one, else the background model or GrabCut). A sprite is RGBA: the exemplar's
own pixels inside its box, alpha 255 on the product. Large photos (RPC's are ~2000 px) are
shrunk to `max_side` before cutting, and the sprite remembers by how much (`scale`), so the
camera-distance scale of a tray stays in the exemplar's original pixels.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np

from .cutout import product_mask
from .image_io import read_image


@dataclass(frozen=True)
class Entry:
    path: object
    box: tuple  # xyxy, original exemplar pixels
    label: int  # 1..C of the dataset
    category_id: object  # the file's id (None for VOC)
    segmentation: object = None


@dataclass(frozen=True)
class Sprite:
    rgba: np.ndarray  # uint8 [h, w, 4]
    label: int
    category_id: object
    scale: float  # sprite pixels per original exemplar pixel


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def entries_of(ds) -> list[Entry]:
    """One entry per object of a loaded dataset (its records: boxes already checked); a COCO
    dataset's segmentation rides along when its annotation is the box's (IoU > 0.9)."""
    coco = getattr(ds, "coco", None)
    label_to_cat = getattr(ds, "label_to_cat_id", {})
    entries = []
    for r in ds.records:
        anns = [a for a in coco.imgToAnns.get(r.image_id, []) if a.get("segmentation")] if coco else []
        for box, label in zip(r.boxes.tolist(), r.labels.tolist()):
            seg = None
            for a in anns:
                x, y, w, h = a["bbox"]
                if _iou(box, (x, y, x + w, y + h)) > 0.9:
                    seg = a["segmentation"]
                    break
            entries.append(Entry(r.path, tuple(box), int(label), label_to_cat.get(int(label)), seg))
    return entries


class ExemplarPool:
    def __init__(self, entries: list[Entry], method: str = "background", max_side: int = 1024,
                 cache_size: int = 512, max_image_pixels=None):
        if not entries:
            raise ValueError("an exemplar pool needs at least one product")
        self.entries, self.method, self.max_side = entries, method, max_side
        self.max_image_pixels = max_image_pixels
        self._cache: OrderedDict[int, Sprite] = OrderedDict()
        self.cache_size = cache_size

    def __len__(self) -> int:
        return len(self.entries)

    def median_long_side(self) -> float:
        """Median longer box side, in original exemplar pixels (no image is read)."""
        return float(np.median([max(e.box[2] - e.box[0], e.box[3] - e.box[1]) for e in self.entries]))

    def sprite(self, k: int) -> Sprite:
        if k in self._cache:
            self._cache.move_to_end(k)
            return self._cache[k]
        sprite = self._cut(self.entries[k])
        self._cache[k] = sprite
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return sprite

    def _cut(self, e: Entry) -> Sprite:
        kw = {} if self.max_image_pixels is None else {"max_pixels": self.max_image_pixels}
        image = read_image(e.path, **kw)
        mask = product_mask(image, e.box, e.segmentation, self.method)
        f = min(1.0, self.max_side / max(image.shape[:2]))
        if f < 1.0:  # shrink after cutting: the segmentation is in the original pixels
            size = (max(1, round(image.shape[1] * f)), max(1, round(image.shape[0] * f)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            mask = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
        if not mask.any():  # nothing stood out from the background: paste the box as it is
            x0, y0, x1, y1 = (int(round(v * f)) for v in e.box)
            mask[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)] = True
        ys, xs = np.nonzero(mask)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        rgba = np.dstack([image[y0:y1, x0:x1], np.where(mask[y0:y1, x0:x1], 255, 0).astype(np.uint8)])
        return Sprite(np.ascontiguousarray(rgba), e.label, e.category_id, f)
