"""Best-matching-box classification accuracy (the authors' get_classify_acc.py, spec 4).

G objects, D detections, C classes (labels 1..C).
``best_boxes`` -> best IoU [G] (-inf when the image has no detection) and the index of that
detection [G] (-1 when none): the same image's detection with the largest IoU, whatever its
class and score (ties: the first in input order, as np.argmax).
``box_accuracy`` -> dict: accuracy = correct / counted, coverage = counted / objects, per-class
arrays [C] (by true class) and a confusion matrix [C, C] (rows true, columns predicted) over
the counted objects.

Difficult objects: the authors' script iterates over all annotated objects, so they are
included by default (``include_difficult=True``); switch it off for the non-difficult-only view.
Detections: no score filter here beyond the optional ``score_threshold``; the authors' model
post-process keeps detections with score >= 0.02 after NMS 0.5 (a model setting, not ours).
"""
import numpy as np

from .grouping import pairs_by_key, segment_argmax
from .iou import paired_iou
from .records import select


def best_boxes(dets, gts, plus_one=False):
    qi, rj, counts = pairs_by_key(gts.images, dets.images)
    iou = paired_iou(gts.boxes[qi], dets.boxes[rj], plus_one)
    best, pos = segment_argmax(iou, counts)
    det_index = np.full(len(best), -1, dtype=np.int64)
    det_index[pos >= 0] = rj[pos[pos >= 0]]
    return best, det_index


def box_accuracy(dets, gts, num_classes, iou_threshold=0.5, include_difficult=True,
                 score_threshold=0.0, plus_one=False):
    if score_threshold > 0:
        dets = select(dets, dets.scores >= score_threshold)
    if not include_difficult:
        gts = select(gts, ~gts.difficult)
    best, det_index = best_boxes(dets, gts, plus_one)
    counted = best >= iou_threshold  # authors: IoU >= 0.5 (inclusive, unlike the devkit's >)
    true = gts.labels[counted] - 1
    pred = dets.labels[det_index[counted]] - 1
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (true, pred), 1)
    per_counted = confusion.sum(axis=1)
    per_correct = np.diag(confusion)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_accuracy = per_correct / per_counted
    n_counted, n_correct = int(counted.sum()), int(per_correct.sum())
    return {
        "accuracy": n_correct / n_counted if n_counted else float("nan"),
        "coverage": n_counted / len(best) if len(best) else float("nan"),
        "num_objects": len(best), "num_counted": n_counted, "num_correct": n_correct,
        "per_class_accuracy": per_accuracy,
        "per_class_counted": per_counted,
        "per_class_objects": np.bincount(gts.labels - 1, minlength=num_classes)[:num_classes],
        "confusion": confusion,
    }
