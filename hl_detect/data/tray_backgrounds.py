"""Empty trays to paste products on: a user's photos, or generated plain / textured ones.

The generated ones are deliberately not the embedded test trays' (synthetic._tray: rim,
receipts, crumbs), so a detector trained on synthesized trays is not handed the test
backgrounds. A user's photo is cropped at random to the tray's aspect ratio and resized.
"""
from __future__ import annotations

import cv2
import numpy as np

from .image_io import read_image

KINDS = ("plain", "textured")


def generated_tray(rng: np.random.Generator, h: int, w: int, kind: str = "textured") -> np.ndarray:
    """float32 [h, w, 3]: one tone (grey to beige), a lighting gradient; textured adds
    low-frequency blotches and fine grain."""
    if kind not in KINDS:
        raise ValueError(f"generated tray kind must be one of {KINDS}, not {kind!r}")
    tone = rng.uniform(110, 215) + rng.uniform(-15, 15, size=3)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = 1 + rng.uniform(0.0, 0.15) * (np.cos(angle) * xx / w + np.sin(angle) * yy / h - 0.5)
    tray = np.broadcast_to(tone, (h, w, 3)) * ramp[..., None]
    if kind == "textured":
        coarse = rng.normal(0, rng.uniform(4, 14), size=(h // 24 + 2, w // 24 + 2, 1)).astype(np.float32)
        tray = tray + cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)[..., None]
        tray = tray + rng.normal(0, 3, size=(h, w, 1))
    return np.clip(tray, 0, 255).astype(np.float32)


def photo_tray(rng: np.random.Generator, path, h: int, w: int) -> np.ndarray:
    image = read_image(path)
    ih, iw = image.shape[:2]
    scale = min(ih / h, iw / w)  # the largest crop of the tray's aspect ratio, then a random zoom
    zoom = rng.uniform(0.7, 1.0)
    ch, cw = int(h * scale * zoom), int(w * scale * zoom)
    ch, cw = max(1, min(ch, ih)), max(1, min(cw, iw))
    y, x = int(rng.integers(0, ih - ch + 1)), int(rng.integers(0, iw - cw + 1))
    crop = image[y:y + ch, x:x + cw]
    return cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
