"""Exemplar products as sprites: the cut-outs tray synthesis pastes.

An ExemplarPool lists every product of a training split (one per annotation; RPC's exemplars
hold one each) and cuts it out on first use (cutout.py: the annotation's COCO segmentation
when it has one, else the background model or GrabCut). A sprite is RGBA: the exemplar's
own pixels inside its box, alpha 255 on the product. Large photos (RPC's are ~2000 px) are
shrunk to `max_side` before cutting, and the sprite remembers by how much (`scale`), so the
camera-distance scale of a tray stays in the exemplar's original pixels.

A sprite also knows its product's own axes (``upright_angle``, ``long_side``): the minimum-area
rectangle around the mask. A turntable shows a product at any in-plane angle; rotating the
sprite by ``upright_angle`` (degrees, counter-clockwise as cv2.getRotationMatrix2D turns)
stands the product's long side upright, so a tray can choose the products' orientation
itself (tray_synthesis.TrayConfig.align) instead of inheriting the turntable's.
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
    upright_angle: float = 0.0  # degrees to rotate (counter-clockwise) so the long side is vertical
    long_side: float | None = None  # the product's own longer side (min-area rectangle), sprite pixels


def product_axes(mask: np.ndarray) -> tuple[float, float]:
    """(upright_angle, long side) of a product mask: the minimum-area rectangle around its
    pixels; rotating by upright_angle (cv2.getRotationMatrix2D's sense) makes its long side
    vertical. The rectangle's corners are read directly, so OpenCV's angle convention (which
    changed in 4.5) does not matter; up and down stay unknown (an angle + 180 is as upright)."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 3:
        return 0.0, float(max(mask.shape))
    corners = cv2.boxPoints(cv2.minAreaRect(np.stack([xs, ys], 1).astype(np.float32)))
    e1, e2 = corners[1] - corners[0], corners[2] - corners[1]
    long_edge = e1 if np.hypot(*e1) >= np.hypot(*e2) else e2
    # the long edge's direction in image coordinates (y down) as a maths angle (y up)
    theta = np.degrees(np.arctan2(-long_edge[1], long_edge[0]))
    angle = 90.0 - theta  # rotating counter-clockwise by this brings it to the vertical
    angle = (angle + 90.0) % 180.0 - 90.0  # the smaller of the two equivalent turns
    return float(angle), float(max(np.hypot(*e1), np.hypot(*e2)) + 1)


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
        self._aligned_median = None

    def __len__(self) -> int:
        return len(self.entries)

    def median_long_side(self, aligned: bool = False, sample: int = 64) -> float:
        """Median longer box side, in original exemplar pixels (no image is read).

        ``aligned``: the median of the products' own longer sides instead (their min-area
        rectangles, what an upright product shows), from up to ``sample`` evenly spaced
        sprites (cut out once, then remembered): a box of a product the turntable turned by
        45 degrees is up to 1.4 x its long side, which would make upright pasted products
        too small."""
        if not aligned:
            return float(np.median([max(e.box[2] - e.box[0], e.box[3] - e.box[1]) for e in self.entries]))
        if self._aligned_median is None:
            picks = np.unique(np.linspace(0, len(self) - 1, min(sample, len(self))).round().astype(int))
            sides = []
            for k in picks:
                s = self.sprite(int(k))
                sides.append((s.long_side or max(s.rgba.shape[:2])) / s.scale)
            self._aligned_median = float(np.median(sides))
        return self._aligned_median

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
        angle, long_side = product_axes(mask[y0:y1, x0:x1])
        return Sprite(np.ascontiguousarray(rgba), e.label, e.category_id, f, angle, long_side)
