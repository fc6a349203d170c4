"""Where each box's label goes, so that no label covers the box it names.

N boxes [N, 4] xyxy and N label sizes (w, h) on a canvas (W, H), all in the picture's
pixels. Candidates for a label, all outside its box (``gap`` px away, clear of the
outline): above it (left-aligned, then right-aligned), below it (the same), left of its top
edge, right of its top edge. A candidate must lie inside the canvas and must not touch its
own box; among those, the one overlapping the labels already placed (weight 4) and the
other boxes (weight 1) the least wins, earlier candidates on ties. Labels are placed in the
order given (callers pass the highest scores first, so those get the best places). When no
candidate fits (a box about as large as the canvas), the label goes inside the box's top-left
corner, the one place left.
"""
from __future__ import annotations

from typing import Sequence

Rect = tuple[float, float, float, float]


def overlap(a: Rect, b: Rect) -> float:
    """Area of the intersection of two xyxy rectangles (0 when they only touch)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, w) * max(0.0, h)


def candidates(box: Rect, size: tuple[float, float], gap: float) -> list[Rect]:
    x0, y0, x1, y1 = box
    w, h = size
    above, below = y0 - gap - h, y1 + gap
    return [(x0, above, x0 + w, above + h), (x1 - w, above, x1, above + h),
            (x0, below, x0 + w, below + h), (x1 - w, below, x1, below + h),
            (x0 - gap - w, y0, x0 - gap, y0 + h), (x1 + gap, y0, x1 + gap + w, y0 + h)]


def place_labels(boxes: Sequence[Rect], sizes: Sequence[tuple[float, float]], canvas: tuple[float, float],
                 gap: float = 2.0) -> list[Rect]:
    width, height = canvas
    boxes = [tuple(map(float, b)) for b in boxes]
    placed: list[Rect] = []
    for i, (box, size) in enumerate(zip(boxes, sizes)):
        # the outline is drawn on the box's edge pixels: grow the box by the gap for the "touch" test
        own = (box[0] - gap + 1, box[1] - gap + 1, box[2] + gap - 1, box[3] + gap - 1)
        best, best_cost = None, None
        for rect in candidates(box, size, gap):
            inside = rect[0] >= 0 and rect[1] >= 0 and rect[2] <= width and rect[3] <= height
            if not inside or overlap(rect, own) > 0:
                continue
            cost = 4 * sum(overlap(rect, p) for p in placed) + sum(
                overlap(rect, b) for j, b in enumerate(boxes) if j != i)
            if best_cost is None or cost < best_cost:
                best, best_cost = rect, cost
        if best is None:
            best = (box[0], box[1], box[0] + size[0], box[1] + size[1])
        placed.append(best)
    return placed
