"""Bbox-aware train / eval pipelines (albumentations for the augmentations).

Call: t(image=uint8 [H0, W0, 3], boxes=float32 [N, 4] xyxy, labels=int64 [N], difficult=bool [N])
-> dict(image [H, W, 3], boxes [M, 4], labels [M], difficult [M], index [M]); `index` says which
input objects survived (M <= N), so callers keep their own per-object data aligned.

Both pipelines first resize exactly (our own code, boxes scaled by (W/W0, H/H0), nothing
dropped): `image_size` = fixed (H, W) or int (square; the paper's 600 x 600 for VOC/RPC), or
torchvision-style `min_size` / `max_size` keeping the aspect ratio. The eval pipeline stops
there, so predictions map back by that scale. The train pipeline then flips, scale-jitters
and colour-jitters with albumentations in pascal_voc format; `labels`, `difficult` and
`index` ride along as label fields so they stay aligned with the boxes that survive
`min_visibility`.
"""
from __future__ import annotations

import random

import albumentations as A
import cv2
import numpy as np


def resized_shape(h: int, w: int, image_size=None, min_size=None, max_size=None) -> tuple[int, int]:
    """Output (H, W) for an (h, w) input; torchvision's rule for min_size/max_size."""
    if image_size is not None:
        return (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if min_size is None and max_size is None:
        return h, w
    scale = min_size / min(h, w) if min_size else float("inf")
    if max_size:
        scale = min(scale, max_size / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


def resize(image: np.ndarray, boxes: np.ndarray, out_hw: tuple[int, int]):
    h, w = image.shape[:2]
    H, W = out_hw
    if (H, W) == (h, w):
        return image, boxes.copy()
    interp = cv2.INTER_AREA if H * W < h * w else cv2.INTER_LINEAR
    image = cv2.resize(image, (W, H), interpolation=interp)
    scale = np.array([W / w, H / h, W / w, H / h], dtype=np.float32)
    return image, boxes * scale


class DetectionTransform:
    """Exact resize, then an optional albumentations augmentation (train)."""

    def __init__(self, image_size=None, min_size=None, max_size=None, augment=None):
        self.size_kw = dict(image_size=image_size, min_size=min_size, max_size=max_size)
        self.augment = augment

    def reseed(self, seed: int) -> None:
        """Draw the next call's augmentation from ``seed`` alone (engine/data_order.py: the same
        augmentation on resume and with any number of loader workers)."""
        if self.augment is None:
            return
        if hasattr(self.augment, "set_random_state"):  # albumentations >= 2: one pair shared by every op
            self.augment.set_random_state(np.random.default_rng(seed), random.Random(seed))
        else:  # albumentations 1.x draws from the global generators
            random.seed(seed)
            np.random.seed(seed % 2**32)

    def __call__(self, image, boxes, labels, difficult):
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        index = np.arange(len(boxes))
        image, boxes = resize(image, boxes, resized_shape(*image.shape[:2], **self.size_kw))
        h, w = image.shape[:2]
        # float error of the scale can push a box a hair past the border; pascal_voc needs inside
        boxes = np.clip(boxes, 0, [w, h, w, h]).astype(np.float32)
        labels, difficult = np.asarray(labels, np.int64), np.asarray(difficult, bool)
        if self.augment is not None:
            out = self.augment(image=image, bboxes=boxes, labels=labels, difficult=difficult,
                               index=index)
            image = out["image"]
            h, w = image.shape[:2]
            boxes = np.clip(np.asarray(out["bboxes"], np.float32).reshape(-1, 4), 0, [w, h, w, h])
            labels = np.asarray(out["labels"], np.int64).reshape(-1)
            difficult = np.asarray(out["difficult"], bool).reshape(-1)
            index = np.asarray(out["index"], np.int64).reshape(-1)
            ok = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
            boxes, labels, difficult, index = boxes[ok], labels[ok], difficult[ok], index[ok]
        return dict(image=image, boxes=boxes, labels=labels, difficult=difficult, index=index)


def build_train_transforms(image_size=None, min_size=None, max_size=None, hflip: float = 0.5,
                           scale_jitter=(0.8, 1.25), scale_p: float = 0.5,
                           brightness: float = 0.2, contrast: float = 0.2,
                           saturation: float = 0.2, hue: float = 0.0, color_p: float = 0.8,
                           min_visibility: float = 0.3, seed: int | None = None) -> DetectionTransform:
    """Resize, flip, scale jitter (zoom in crops, zoom out pads), colour jitter.

    hue defaults to 0: on retail data the colour of a product is part of its class.
    seed: fixes albumentations' own generator (Compose(seed=), albumentations >= 2); None: random.
    """
    ops = []
    if hflip > 0:
        ops.append(A.HorizontalFlip(p=hflip))
    if scale_jitter is not None and scale_p > 0:
        ops.append(A.Affine(scale=tuple(scale_jitter), keep_ratio=True, p=scale_p))
    if color_p > 0:
        ops.append(A.ColorJitter(brightness=brightness, contrast=contrast,
                                 saturation=saturation, hue=hue, p=color_p))
    seed_kw = {"seed": seed} if seed is not None else {}
    augment = A.Compose(ops, bbox_params=A.BboxParams(
        format="pascal_voc", label_fields=["labels", "difficult", "index"],
        min_visibility=min_visibility), **seed_kw)
    return DetectionTransform(image_size, min_size, max_size, augment)


def build_eval_transforms(image_size=None, min_size=None, max_size=None) -> DetectionTransform:
    """Resize only: no crop, no flip, no pad; every object is kept."""
    return DetectionTransform(image_size, min_size, max_size, augment=None)

