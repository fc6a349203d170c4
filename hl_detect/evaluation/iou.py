"""Box IoU with the VOC devkit's optional "+1 pixel" convention.

Shapes: boxes are float arrays [N, 4] / [M, 4] in (x1, y1, x2, y2).
``box_iou`` -> [N, M]; ``paired_iou`` (row i of ``a`` against row i of ``b``) -> [P].

``plus_one`` applies the devkit formula to the coordinates exactly as given:
width = x2 - x1 + 1 (VOC devkit voc_eval.py; boxes are inclusive pixel indices).
On 0-based *continuous* boxes (our VOC loader: xmin-1, ymin-1, xmax, ymax, as Detectron2)
use ``to_devkit_frame`` first, which adds 1 back to x1/y1 as Detectron2's
PascalVOCDetectionEvaluator does; the +1 then cancels and the IoU equals the continuous IoU.
"""
import numpy as np


def to_devkit_frame(boxes):
    """0-based continuous -> VOC 1-based inclusive (x1+1, y1+1, x2, y2), as Detectron2 writes."""
    boxes = np.asarray(boxes, dtype=np.float64).copy()
    boxes[..., :2] += 1.0
    return boxes


def paired_iou(a, b, plus_one=False):
    """IoU of a[i] with b[i]; float64, computed in the devkit's order of operations."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    one = 1.0 if plus_one else 0.0
    iw = np.maximum(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]) + one, 0.0)
    ih = np.maximum(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]) + one, 0.0)
    inters = iw * ih
    # devkit: uni = area(det) + area(gt) - inters (no clamping of degenerate boxes)
    uni = ((a[:, 2] - a[:, 0] + one) * (a[:, 3] - a[:, 1] + one)
           + (b[:, 2] - b[:, 0] + one) * (b[:, 3] - b[:, 1] + one) - inters)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inters / uni
    return np.where(uni > 0, iou, 0.0)


def box_iou(a, b, plus_one=False):
    """Dense IoU matrix [N, M] between two box sets."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    n, m = len(a), len(b)
    ii = np.repeat(np.arange(n), m)
    jj = np.tile(np.arange(m), n)
    return paired_iou(a[ii], b[jj], plus_one).reshape(n, m)
