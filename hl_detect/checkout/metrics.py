"""RPC checkout metrics (Wei et al. 2019, "RPC: A Large-Scale Retail Product Checkout Dataset").

I images, C classes. Counts are integer matrices [I, C]: predicted = the detections that
count as items (``counting.py``: the count rule, then score >= ``score_threshold``, default
0.5, one for all classes or one per class) per image & class, true = objects per image & class.
cAcc  = share of images whose predicted counts equal the true counts for every class.
ACD   = mean over images of sum_c |pred - true|.
mCCD  = mean over classes of sum_i |pred - true| / sum_i true (classes with sum_i true > 0; the
        ratio is undefined otherwise).
mCIoU = mean over classes of sum_i min(pred, true) / sum_i max(pred, true) (classes with
        sum_i max > 0, so a class predicted but never present counts as 0, one that is neither
        predicted nor present is left out).
Every image of the evaluation counts, an empty tray included (a receipt of nothing is right).
``image_levels`` ({image_id: "easy" | "medium" | "hard"}, RPC's clutter levels) adds the same
metrics per level (``by_level``), as the RPC paper's table reports them.
"""
import numpy as np

from .counting import DEFAULT_AGNOSTIC_IOU, check_count_rule, count_mask, suppress

LEVEL_ORDER = ("easy", "medium", "hard")
# Default sweep grid for the score threshold.
SWEEP_THRESHOLDS = np.round(np.arange(0.05, 1.0, 0.05), 2)


def count_matrix(images, labels, image_ids, num_classes):
    """[I, C] counts of (image, label) rows; ``image_ids`` sorted unique, fixes the row order."""
    rows = np.searchsorted(image_ids, images)
    flat = np.bincount(rows * num_classes + (labels - 1), minlength=len(image_ids) * num_classes)
    return flat.reshape(len(image_ids), num_classes)


def checkout_metrics(pred_counts, true_counts):
    pred = np.asarray(pred_counts, dtype=np.int64)
    true = np.asarray(true_counts, dtype=np.int64)
    err = np.abs(pred - true)
    sum_true, sum_max = true.sum(axis=0), np.maximum(pred, true).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ccd = np.where(sum_true > 0, err.sum(axis=0) / sum_true, np.nan)
        ciou = np.where(sum_max > 0, np.minimum(pred, true).sum(axis=0) / sum_max, np.nan)
    nan_mean = lambda x: float(np.mean(x[~np.isnan(x)])) if (~np.isnan(x)).any() else float("nan")
    return {
        "cAcc": float(np.mean(np.all(err == 0, axis=1))) if len(err) else float("nan"),
        "ACD": float(np.mean(err.sum(axis=1))) if len(err) else float("nan"),
        "mCCD": nan_mean(ccd), "mCIoU": nan_mean(ciou),
        "per_class_CCD": ccd, "per_class_CIoU": ciou,
    }


def true_counts(gts, num_classes, image_ids, include_difficult=True):
    keep = np.ones(len(gts.labels), bool) if include_difficult else ~gts.difficult
    return count_matrix(gts.images[keep], gts.labels[keep], image_ids, num_classes)


def predicted_counts(dets, num_classes, image_ids, score_threshold=0.5, count_rule="per_class",
                     agnostic_iou=DEFAULT_AGNOSTIC_IOU, suppressed=None):
    keep = count_mask(dets, score_threshold, count_rule, agnostic_iou, suppressed)
    return count_matrix(dets.images[keep], dets.labels[keep], image_ids, num_classes)


def unique_image_ids(dets, gts, image_ids=None):
    ids = np.concatenate([dets.images, gts.images]) if image_ids is None else image_ids
    return np.unique(np.asarray(ids, dtype=np.int64))


def metrics_by_level(pred, true, image_ids, image_levels):
    """{level: {num_images, cAcc, ACD, mCCD, mCIoU}} over the images of each level; images
    without a level are grouped under "none" (only when some image has one)."""
    levels = np.array([str(image_levels.get(int(i), "none")) for i in image_ids], dtype=object)
    present = set(levels.tolist())
    if present <= {"none"}:
        return {}
    order = [lv for lv in LEVEL_ORDER if lv in present] + sorted(present - set(LEVEL_ORDER))
    out = {}
    for level in order:
        rows = levels == level
        m = checkout_metrics(pred[rows], true[rows])
        out[level] = {"num_images": int(rows.sum()), **{k: m[k] for k in ("cAcc", "ACD", "mCCD", "mCIoU")}}
    return out


def checkout_evaluate(dets, gts, num_classes, image_ids=None, score_threshold=0.5,
                      include_difficult=True, count_rule="per_class",
                      agnostic_iou=DEFAULT_AGNOSTIC_IOU, image_levels=None):
    """Metrics at one threshold (a number, or [C] per-class thresholds) under one count rule."""
    image_ids = unique_image_ids(dets, gts, image_ids)
    pred = predicted_counts(dets, num_classes, image_ids, score_threshold, count_rule, agnostic_iou)
    true = true_counts(gts, num_classes, image_ids, include_difficult)
    thr = np.asarray(score_threshold, dtype=np.float64)
    res = {"score_threshold": float(thr) if thr.ndim == 0 else thr, "count_rule": count_rule,
           **({"agnostic_iou": float(agnostic_iou)} if count_rule == "agnostic" else {}),
           **checkout_metrics(pred, true)}
    if image_levels:
        by_level = metrics_by_level(pred, true, image_ids, image_levels)
        if by_level:
            res["by_level"] = by_level
    return res


def checkout_sweep(dets, gts, num_classes, image_ids=None, thresholds=SWEEP_THRESHOLDS,
                   include_difficult=True, count_rule="per_class", agnostic_iou=DEFAULT_AGNOSTIC_IOU):
    """Metrics at each threshold; best = highest cAcc, ties -> lower ACD, then lower threshold.

    Whatever data it is given is the data it chooses on: give it validation data to choose a
    threshold honestly (selection.py); on test data the choice is an oracle's."""
    check_count_rule(count_rule)
    image_ids = unique_image_ids(dets, gts, image_ids)
    true = true_counts(gts, num_classes, image_ids, include_difficult)
    suppressed = suppress(dets, count_rule, agnostic_iou)  # once: it does not depend on the threshold
    rows = []
    for thr in np.asarray(thresholds, dtype=np.float64):
        pred = predicted_counts(dets, num_classes, image_ids, thr, count_rule, agnostic_iou, suppressed)
        rows.append({"score_threshold": float(thr), **checkout_metrics(pred, true)})
    best = min(rows, key=lambda r: (-r["cAcc"], r["ACD"], r["score_threshold"]))
    return {"sweep": rows, "best_threshold": best["score_threshold"], "best": best,
            "count_rule": count_rule}
