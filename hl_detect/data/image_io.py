"""Robust image reading: any file PIL opens comes back as uint8 RGB [H, W, 3].

Converted to RGB: grayscale (L, 1), palette (P), RGBA/LA (alpha dropped, as torchvision's
read_image(mode=RGB) does), CMYK, YCbCr, and 16-bit / 32-bit integer or float grayscale
(rescaled to 0..255, not clipped). EXIF orientation is NOT applied: VOC and COCO boxes are
annotated on the stored pixel grid, which is also what torchvision and pycocotools read.
Any failure raises DatasetError naming the file.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from .checks import DatasetError

_HIGH_BIT_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def _to_uint8(img: Image.Image) -> np.ndarray:
    """High-bit-depth single-channel image -> uint8 [H, W]."""
    a = np.asarray(img, dtype=np.float64)
    top = a.max(initial=0.0)
    if img.mode == "F" and top <= 1.0:
        a = a * 255.0  # float images in [0, 1]
    elif top > 255.0:
        a = a / 257.0  # 16-bit range 0..65535 -> 0..255 (65535 / 257 = 255)
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def read_image(path) -> np.ndarray:
    """Decode the whole file; uint8 RGB array [H, W, 3]."""
    try:
        with Image.open(path) as img:
            img.load()  # force a full decode so truncated files fail here
            if img.mode in _HIGH_BIT_MODES:
                gray = _to_uint8(img)
                return np.repeat(gray[:, :, None], 3, axis=2)
            if img.mode != "RGB":
                img = img.convert("RGB")
            return np.asarray(img, dtype=np.uint8).copy()
    except FileNotFoundError:
        raise DatasetError(path, "image file not found") from None
    except DatasetError:
        raise
    except Exception as e:  # PIL raises many types (UnidentifiedImageError, OSError, ...)
        raise DatasetError(path, f"cannot read image ({type(e).__name__}: {e})") from None


def read_image_size(path) -> tuple[int, int]:
    """(H, W) from the file header only, without decoding pixels."""
    try:
        with Image.open(path) as img:
            w, h = img.size
            return h, w
    except FileNotFoundError:
        raise DatasetError(path, "image file not found") from None
    except Exception as e:
        raise DatasetError(path, f"cannot read image header ({type(e).__name__}: {e})") from None
