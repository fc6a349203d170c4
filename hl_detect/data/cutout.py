"""Cut a product out of its exemplar photo: the mask of the pixels that are product.

RPC's exemplars show one product on a near-uniform turntable, so the background is what the
image border shows. The background model is a colour plane per channel (tone + a lighting
gradient) fitted to the border pixels by least squares, refitted once without the border
pixels it explains worst (a product that touches the border must not drag the fit). A pixel
is product when its colour (3 x 3 median: sensor grain and JPEG specks go, edges stay where
they are) lies farther from the model than the border's own spread allows: threshold = max(min_distance, median +
spread x 1.4826 MAD of the border distances, a robust sigma). Holes are filled (a white
label on a product is still product) and the largest connected component inside the
annotation box is kept. ``method="grabcut"`` refines that mask with OpenCV's GrabCut.

A COCO ``segmentation`` (polygons or RLE) given with the annotation wins over all of this:
``product_mask`` decodes it with pycocotools.
"""
from __future__ import annotations

import cv2
import numpy as np
from pycocotools import mask as mask_utils


def _border(h: int, w: int, width: int) -> np.ndarray:
    edge = np.zeros((h, w), bool)
    edge[:width], edge[-width:], edge[:, :width], edge[:, -width:] = True, True, True, True
    return edge


def _fit_plane(colours: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    design = np.stack([np.ones_like(xs), xs, ys], axis=1)
    coef, *_ = np.linalg.lstsq(design, colours, rcond=None)
    return coef  # [3 (1, x, y), 3 channels]


def background_distance(image: np.ndarray, border: int | None = None):
    """-> (distance of every pixel from the fitted background [H, W], border mask [H, W])."""
    h, w = image.shape[:2]
    width = border or max(2, round(0.03 * min(h, w)))
    smooth = cv2.medianBlur(image, 3).astype(np.float32)  # grain and JPEG specks; edges stay put
    edge = _border(h, w, width)
    ys, xs = np.nonzero(edge)
    xs_n, ys_n = xs / w, ys / h
    colours = smooth[edge]
    coef = _fit_plane(colours, ys_n, xs_n)
    residual = np.linalg.norm(colours - np.stack([np.ones_like(xs_n), xs_n, ys_n], 1) @ coef, axis=1)
    keep = residual <= np.quantile(residual, 0.8)  # refit without the worst fifth
    coef = _fit_plane(colours[keep], ys_n[keep], xs_n[keep])
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    model = coef[0] + (gx / w)[..., None] * coef[1] + (gy / h)[..., None] * coef[2]
    return np.linalg.norm(smooth - model, axis=2), edge


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Every pixel that the outside cannot reach without crossing the mask."""
    padded = np.pad(mask.astype(np.uint8), 1)
    flood = padded.copy()
    cv2.floodFill(flood, np.zeros((flood.shape[0] + 2, flood.shape[1] + 2), np.uint8), (0, 0), 2)
    return (flood != 2)[1:-1, 1:-1]


def cutout_mask(image: np.ndarray, box=None, min_distance: float = 18.0, spread: float = 6.0,
                method: str = "background", border: int | None = None) -> np.ndarray:
    """bool [H, W] product mask of an RGB uint8 exemplar; `box` (xyxy, the annotation's)
    picks the component to keep and bounds the mask (a few pixels of slack)."""
    if method not in ("background", "grabcut"):
        raise ValueError(f"cut-out method must be 'background' or 'grabcut', not {method!r}")
    h, w = image.shape[:2]
    distance, edge = background_distance(image, border)
    d = distance[edge]
    mad = np.median(np.abs(d - np.median(d)))
    threshold = max(min_distance, float(np.median(d) + spread * 1.4826 * mad))
    mask = distance > threshold
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel).astype(bool)
    if box is not None:
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        slack = max(2, round(0.02 * max(x1 - x0, y1 - y0)))
        inside = np.zeros_like(mask)
        inside[max(0, y0 - slack):y1 + slack, max(0, x0 - slack):x1 + slack] = True
        mask &= inside
    mask = _largest_component(_fill_holes(mask))
    # the edge: a pixel the lens and JPEG mixed from product and background counts as product
    # when it is at least halfway from the background to the product beside it (alpha > 0.5)
    nearby = cv2.dilate(np.where(mask, distance, 0).astype(np.float32), np.ones((5, 5), np.uint8))
    mask = _largest_component(_fill_holes(mask & (distance >= 0.5 * nearby)))
    if method == "grabcut" and mask.any():
        mask = _grabcut(image, mask)
    return mask


def _largest_component(mask: np.ndarray) -> np.ndarray:
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    return labels == 1 + int(np.argmax(areas))


def _grabcut(image: np.ndarray, mask: np.ndarray, iterations: int = 3) -> np.ndarray:
    """GrabCut seeded with the background-model mask: its eroded core is sure product, far
    background sure background, the band between them decided by GrabCut's colour models."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    core = cv2.erode(mask.astype(np.uint8), kernel).astype(bool)
    near = cv2.dilate(mask.astype(np.uint8), kernel, iterations=2).astype(bool)
    seeds = np.full(mask.shape, cv2.GC_BGD, np.uint8)
    seeds[near] = cv2.GC_PR_BGD
    seeds[mask] = cv2.GC_PR_FGD
    seeds[core] = cv2.GC_FGD
    cv2.setRNGSeed(0)  # GrabCut's k-means draws from OpenCV's global generator: same input, same mask
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(np.ascontiguousarray(image[..., ::-1]), seeds, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    return _fill_holes(np.isin(seeds, (cv2.GC_FGD, cv2.GC_PR_FGD)))


def product_mask(image: np.ndarray, box, segmentation=None, method: str = "background") -> np.ndarray:
    """The product's mask: the annotation's COCO segmentation when it has one (polygons or
    RLE), else the cut-out from the background."""
    h, w = image.shape[:2]
    if segmentation:
        if isinstance(segmentation, list):  # polygons
            rles = mask_utils.frPyObjects(segmentation, h, w)
            rle = mask_utils.merge(rles)
        elif isinstance(segmentation.get("counts"), list):  # uncompressed RLE
            rle = mask_utils.frPyObjects(segmentation, h, w)
        else:
            rle = segmentation
        return mask_utils.decode(rle).astype(bool)
    return cutout_mask(image, box, method=method)
