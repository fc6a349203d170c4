"""VOC devkit matching of detections to ground truth, vectorized over all images and classes.

D detections, G objects, T IoU thresholds (see records.py for the flat arrays).
``max_iou_objects`` -> ovmax [D] (-inf: no object of that image & class), jmax [D] (-1: none).
``match_detections`` -> order [D] (detections sorted by class, then score descending, ties in
input order), tp [T, D] and fp [T, D] bool in that order. A detection that is neither TP nor
FP matched a difficult object.

Why this is exact without a loop over detections: in the devkit (voc_eval.py) a detection is
only ever compared with its max-IoU object, which does not depend on the order of processing;
the order only decides which detection "takes" the object first. So: TP = first detection in
sorted order whose max-IoU object is that (non-difficult) object with IoU > threshold.
"""
import numpy as np

from .grouping import pairs_by_key, segment_argmax
from .iou import paired_iou


def sort_detections(dets):
    """Per class, score descending; stable, so equal scores keep the input order (spec 4)."""
    order = np.argsort(-dets.scores, kind="stable")
    return order[np.argsort(dets.labels[order], kind="stable")]


def max_iou_objects(dets, gts, plus_one=False):
    """For each detection, the same image & class object with the largest IoU (first on ties)."""
    _, image_index = np.unique(np.concatenate([dets.images, gts.images]), return_inverse=True)
    n_labels = int(max(dets.labels.max(initial=0), gts.labels.max(initial=0))) + 1
    keys = image_index.astype(np.int64) * n_labels + np.concatenate([dets.labels, gts.labels])
    qi, rj, counts = pairs_by_key(keys[:len(dets.images)], keys[len(dets.images):])
    iou = paired_iou(dets.boxes[qi], gts.boxes[rj], plus_one)
    ovmax, pos = segment_argmax(iou, counts)
    jmax = np.full(len(ovmax), -1, dtype=np.int64)
    jmax[pos >= 0] = rj[pos[pos >= 0]]
    return ovmax, jmax


def devkit_tp_fp(ovmax, jmax, difficult, iou_threshold):
    """tp, fp [D] for detections already in sorted order (VOC devkit rules, spec 4)."""
    over = ovmax > iou_threshold  # devkit: "if ovmax > ovthresh" (strict)
    hit_difficult = np.zeros_like(over)
    hit_difficult[over] = difficult[jmax[over]]  # devkit: difficult -> neither TP nor FP
    candidates = np.flatnonzero(over & ~hit_difficult)
    _, first = np.unique(jmax[candidates], return_index=True)  # first taker wins, rest duplicates
    tp = np.zeros_like(over)
    tp[candidates[first]] = True
    fp = ~tp & ~hit_difficult
    return tp, fp


def match_detections(dets, gts, iou_thresholds=(0.5,), plus_one=False):
    order = sort_detections(dets)
    ovmax, jmax = max_iou_objects(dets, gts, plus_one)
    ovmax, jmax = ovmax[order], jmax[order]
    thresholds = np.atleast_1d(np.asarray(iou_thresholds, dtype=np.float64))
    tp = np.zeros((len(thresholds), len(order)), dtype=bool)
    fp = np.zeros_like(tp)
    for t, threshold in enumerate(thresholds):
        tp[t], fp[t] = devkit_tp_fp(ovmax, jmax, gts.difficult, threshold)
    return order, tp, fp
