"""Robust image reading: any file PIL opens comes back as uint8 RGB [H, W, 3].

Converted to RGB: grayscale (L, 1), palette (P), RGBA/LA (alpha dropped, as torchvision's
read_image(mode=RGB) does), CMYK, YCbCr, and 16-bit / 32-bit integer or float grayscale
(rescaled to 0..255, not clipped). EXIF orientation is NOT applied: VOC and COCO boxes are
annotated on the stored pixel grid, which is also what torchvision and pycocotools read.
Any failure raises DatasetError naming the file.

Pixel cap (data.max_image_pixels): a small file can hold a huge image (a 97 KB PNG of
100 Mpx decodes to 286 MiB, per DataLoader worker). The size is checked from the header,
which PIL reads without decoding, so an image over the cap is a counted bad image before any
pixel is allocated. PIL's DecompressionBombWarning (past 89 Mpx), which Image.open itself
emits, is silenced there: the cap replaces it; PIL's error past 179 Mpx still stands.
"""
from __future__ import annotations

import warnings

import numpy as np
from PIL import Image

from .checks import DatasetError

DEFAULT_MAX_IMAGE_PIXELS = 40_000_000  # 40 Mpx: above any camera a dataset is likely to use

_16_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
_HIGH_BIT_MODES = ("I", "F") + _16_BIT_MODES


def _to_uint8(img: Image.Image) -> np.ndarray:
    """High-bit-depth single-channel image -> uint8 [H, W].

    A 16-bit mode says its range (0..65535), so it is always scaled by 1/257 (65535 -> 255):
    a dark 16-bit picture (every pixel <= 255) stays dark, as in any viewer. Modes "I"
    (a 32-bit container, also what an 8-bit image converts to) and "F" do not say their
    range, so only those are judged by their content."""
    a = np.asarray(img, dtype=np.float64)
    top = a.max(initial=0.0)
    if img.mode in _16_BIT_MODES:
        a = a / 257.0
    elif img.mode == "F" and top <= 1.0:
        a = a * 255.0  # float images in [0, 1]
    elif top > 255.0:
        a = a / 257.0  # values beyond 8 bits: read as the 16-bit range 0..65535
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def check_pixels(path, width: int, height: int, max_pixels: int | None) -> None:
    """DatasetError when a width x height image has more pixels than the cap (None or 0: no cap)."""
    if max_pixels and width * height > max_pixels:
        raise DatasetError(path, f"{width}x{height} = {width * height:,} pixels, more than "
                                 f"data.max_image_pixels allows ({int(max_pixels):,}); not decoded")


def _open(path) -> Image.Image:
    """Image.open (lazy: the header only) without PIL's bomb warning. A local filter, not a
    global one: a global filter set at import is lost to any catch_warnings around the import."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(path)


def read_image(path, max_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS) -> np.ndarray:
    """Decode the whole file; uint8 RGB array [H, W, 3]. Over `max_pixels`: DatasetError."""
    try:
        with _open(path) as img:
            check_pixels(path, *img.size, max_pixels)  # header only: nothing decoded yet
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
        with _open(path) as img:
            w, h = img.size
            return h, w
    except FileNotFoundError:
        raise DatasetError(path, "image file not found") from None
    except Exception as e:
        raise DatasetError(path, f"cannot read image header ({type(e).__name__}: {e})") from None
