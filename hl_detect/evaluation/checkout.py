"""RPC checkout metrics (Wei et al. 2019, "RPC: A Large-Scale Retail Product Checkout Dataset").

I images, C classes. Counts are integer matrices [I, C]: predicted = detections with
score >= ``score_threshold`` (default 0.5) per image & class, true = objects per image & class.
cAcc  = share of images whose predicted counts equal the true counts for every class.
ACD   = mean over images of sum_c |pred - true|.
mCCD  = mean over classes of sum_i |pred - true| / sum_i true (classes with sum_i true > 0; the
        ratio is undefined otherwise).
mCIoU = mean over classes of sum_i min(pred, true) / sum_i max(pred, true) (classes with
        sum_i max > 0, so a class predicted but never present counts as 0, one that is neither
        predicted nor present is left out).
Every image of the evaluation counts, an empty tray included (a receipt of nothing is right).
"""
import numpy as np

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


def _true_counts(gts, num_classes, image_ids, include_difficult):
    keep = np.ones(len(gts.labels), bool) if include_difficult else ~gts.difficult
    return count_matrix(gts.images[keep], gts.labels[keep], image_ids, num_classes)


def _image_ids(dets, gts, image_ids):
    ids = np.concatenate([dets.images, gts.images]) if image_ids is None else image_ids
    return np.unique(np.asarray(ids, dtype=np.int64))


def checkout_evaluate(dets, gts, num_classes, image_ids=None, score_threshold=0.5,
                      include_difficult=True):
    image_ids = _image_ids(dets, gts, image_ids)
    keep = dets.scores >= score_threshold
    pred = count_matrix(dets.images[keep], dets.labels[keep], image_ids, num_classes)
    res = checkout_metrics(pred, _true_counts(gts, num_classes, image_ids, include_difficult))
    return {"score_threshold": float(score_threshold), **res}


def checkout_sweep(dets, gts, num_classes, image_ids=None, thresholds=SWEEP_THRESHOLDS,
                   include_difficult=True):
    """Metrics at each threshold; best = highest cAcc, ties -> lower ACD, then lower threshold."""
    image_ids = _image_ids(dets, gts, image_ids)
    true = _true_counts(gts, num_classes, image_ids, include_difficult)
    rows = []
    for thr in np.asarray(thresholds, dtype=np.float64):
        keep = dets.scores >= thr
        pred = count_matrix(dets.images[keep], dets.labels[keep], image_ids, num_classes)
        rows.append({"score_threshold": float(thr), **checkout_metrics(pred, true)})
    best = min(rows, key=lambda r: (-r["cAcc"], r["ACD"], r["score_threshold"]))
    return {"sweep": rows, "best_threshold": best["score_threshold"], "best": best}
