"""VOC average precision per class and mAP (VOC07 11-point and all-point "area").

C classes (labels 1..C, column c-1), T IoU thresholds.
``evaluate_voc`` -> {"ap_area": [T, C], "ap_voc07": [T, C], "npos": [C]}; AP is NaN for a class
without non-difficult objects, and ``mean_ap`` averages over the others (spec 4).
"""
import numpy as np

from .matching import match_detections

# Thresholds exactly as the Python devkit ports build them: entry 3 is 0.30000000000000004.
VOC07_RECALL_THRESHOLDS = np.arange(0.0, 1.1, 0.1)
# COCO's IoU thresholds 0.50:0.05:0.95 (pycocotools uses the same linspace).
COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1)


def devkit_ap(rec, prec, use_07_metric=False):
    """The devkit's ``voc_ap(rec, prec, use_07_metric)`` without its loops; rec nondecreasing."""
    rec = np.asarray(rec, dtype=np.float64)
    prec = np.asarray(prec, dtype=np.float64)
    if use_07_metric:
        # 11-point: p(t) = max precision at recall >= t, 0 if recall never reaches t.
        envelope = np.maximum.accumulate(prec[::-1])[::-1] if len(prec) else prec
        first = np.searchsorted(rec, VOC07_RECALL_THRESHOLDS, side="left")
        ap = 0.0
        for i in first:  # sequential sum of p / 11, as the devkit accumulates it
            ap = ap + (envelope[i] if i < len(rec) else 0.0) / 11.0
        return float(ap)
    # area: precision envelope, then sum of (delta recall) * precision where recall changes
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.maximum.accumulate(np.concatenate(([0.0], prec, [0.0]))[::-1])[::-1]
    i = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def count_positives(gts, num_classes):
    """npos [C]: non-difficult objects per class (devkit: difficult objects are not positives)."""
    keep = ~gts.difficult
    return np.bincount(gts.labels[keep] - 1, minlength=num_classes)[:num_classes]


def evaluate_voc(dets, gts, num_classes, iou_thresholds=(0.5,), plus_one=False):
    thresholds = np.atleast_1d(np.asarray(iou_thresholds, dtype=np.float64))
    order, tp, fp = match_detections(dets, gts, thresholds, plus_one)
    labels = dets.labels[order]
    bounds = np.searchsorted(labels, np.arange(1, num_classes + 2))
    npos = count_positives(gts, num_classes)
    eps = np.finfo(np.float64).eps
    ap_area = np.full((len(thresholds), num_classes), np.nan)
    ap_07 = np.full_like(ap_area, np.nan)
    for c in range(num_classes):  # a loop over classes only; each step is vectorized
        if npos[c] == 0:
            continue
        s, e = bounds[c], bounds[c + 1]
        ctp = np.cumsum(tp[:, s:e], axis=1, dtype=np.float64)
        cfp = np.cumsum(fp[:, s:e], axis=1, dtype=np.float64)
        rec = ctp / float(npos[c])
        prec = ctp / np.maximum(ctp + cfp, eps)  # devkit guards 0/0 with eps
        for t in range(len(thresholds)):
            ap_area[t, c] = devkit_ap(rec[t], prec[t], use_07_metric=False)
            ap_07[t, c] = devkit_ap(rec[t], prec[t], use_07_metric=True)
    return {"ap_area": ap_area, "ap_voc07": ap_07, "npos": npos, "iou_thresholds": thresholds}


def voc_ap(dets, gts, num_classes, iou_threshold=0.5, use_07_metric=False, plus_one=False):
    """AP per class [C] at one IoU threshold (NaN where a class has no non-difficult object)."""
    res = evaluate_voc(dets, gts, num_classes, (iou_threshold,), plus_one)
    return res["ap_voc07" if use_07_metric else "ap_area"][0]


def mean_ap(ap, npos):
    """mAP of one row of AP [C] over the classes with >= 1 non-difficult object (spec 4)."""
    valid = np.asarray(npos) > 0
    return float(np.mean(np.asarray(ap)[valid])) if valid.any() else float("nan")
