"""Choosing the checkout score threshold on validation data, reporting it on test.

A split's data is a ``CheckoutData`` (detections, ground truth, image ids; records.py). Every
choice here reads the val split only: the global threshold (best val cAcc, ties -> lower
ACD, then lower threshold; checkout.checkout_sweep) and the optional per-class thresholds
(per class, the lowest val count error sum_i |pred - true|, ties -> nearest the global
choice, then lower). Test data is only scored at thresholds already chosen, so the test
numbers are honest estimates; tests/checkout/test_selection.py perturbs the
test labels and checks that no choice moves.

Per-class calibration is separable: after the count rule's suppression (which does not
depend on the thresholds, counting.py) a class's counts depend on its own threshold only.

``oracle_sweep`` chooses on test, which is tuning on the test set: its output says so
("oracle (chosen on test)") and is only made when asked for.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from .metrics import (SWEEP_THRESHOLDS, checkout_evaluate, checkout_sweep, predicted_counts, true_counts,
                       unique_image_ids)
from .counting import COUNT_RULES, DEFAULT_AGNOSTIC_IOU, suppress

ORACLE_LABEL = "oracle (chosen on test)"
CRITERION = "highest cAcc; ties: lower ACD, then lower threshold"
SUMMARY_KEYS = ("score_threshold", "cAcc", "ACD", "mCCD", "mCIoU", "by_level")


class CheckoutData(NamedTuple):
    dets: object  # records.Detections
    gts: object  # records.GroundTruth
    image_ids: np.ndarray


def calibrate_class_thresholds(val: CheckoutData, num_classes, start: float, *, count_rule="per_class",
                               agnostic_iou=DEFAULT_AGNOSTIC_IOU, thresholds=SWEEP_THRESHOLDS,
                               include_difficult=True) -> np.ndarray:
    """[C] thresholds: each class's lowest val count error; a class the choice cannot tell
    apart (e.g. absent from val and never predicted) keeps ``start``."""
    grid = np.asarray(thresholds, dtype=np.float64)
    ids = unique_image_ids(val.dets, val.gts, val.image_ids)
    true = true_counts(val.gts, num_classes, ids, include_difficult)
    suppressed = suppress(val.dets, count_rule, agnostic_iou)
    errors = np.stack([np.abs(predicted_counts(val.dets, num_classes, ids, t, count_rule, agnostic_iou,
                                               suppressed) - true).sum(axis=0) for t in grid])  # [T, C]
    chosen = np.empty(num_classes)
    for c in range(num_classes):
        candidates = grid[errors[:, c] == errors[:, c].min()]
        # nearest the global choice, then lower: np.lexsort sorts by the last key first
        chosen[c] = candidates[np.lexsort((candidates, np.abs(candidates - start)))[0]]
    return chosen


def _plain(x):
    return x.tolist() if isinstance(x, np.ndarray) else x


def _summary(metrics: dict) -> dict:
    """The headline numbers (no per-class arrays); per-class thresholds as a list."""
    return {k: _plain(metrics[k]) for k in SUMMARY_KEYS if k in metrics}


def _row(threshold, source, val, test, num_classes, test_levels, **kw) -> dict:
    """One threshold scored on both splits (the threshold once, not again in each split's numbers)."""
    val_m = checkout_evaluate(val.dets, val.gts, num_classes, val.image_ids, threshold, **kw)
    test_m = checkout_evaluate(test.dets, test.gts, num_classes, test.image_ids, threshold,
                               image_levels=test_levels, **kw)
    drop = lambda m: {k: v for k, v in _summary(m).items() if k != "score_threshold"}
    return {"threshold": _plain(threshold), "source": source, "val": drop(val_m), "test": drop(test_m)}


def select_on_val(val: CheckoutData, test: CheckoutData, num_classes, *, fixed_threshold=0.5,
                  count_rules=COUNT_RULES, agnostic_iou=DEFAULT_AGNOSTIC_IOU, thresholds=SWEEP_THRESHOLDS,
                  include_difficult=True, per_class=True, test_levels: Optional[dict] = None,
                  fixed_source="config") -> dict:
    """For each count rule, rows of (threshold, where it came from, val metrics, test metrics):
    the fixed threshold, the one chosen on val and, with ``per_class``, per-class thresholds
    calibrated on val."""
    out = {"chosen_on": "val", "reported_on": "test", "criterion": CRITERION, "rules": {}}
    for rule in count_rules:
        kw = dict(include_difficult=include_difficult, count_rule=rule, agnostic_iou=agnostic_iou)
        sweep = checkout_sweep(val.dets, val.gts, num_classes, val.image_ids, thresholds, **kw)
        best = sweep["best_threshold"]
        rows = [_row(float(fixed_threshold), fixed_source, val, test, num_classes, test_levels, **kw),
                _row(best, "chosen on val", val, test, num_classes, test_levels, **kw)]
        if per_class:
            per = calibrate_class_thresholds(val, num_classes, best, thresholds=thresholds, **kw)
            rows.append(_row(per, "per class, calibrated on val", val, test, num_classes, test_levels, **kw))
        out["rules"][rule] = {"agnostic_iou": agnostic_iou if rule == "agnostic" else None, "rows": rows}
    return out


def oracle_sweep(test: CheckoutData, num_classes, *, count_rules=COUNT_RULES, agnostic_iou=DEFAULT_AGNOSTIC_IOU,
                 thresholds=SWEEP_THRESHOLDS, include_difficult=True) -> dict:
    """The best threshold on test itself, per rule: an upper bound, never an estimate."""
    out = {"label": ORACLE_LABEL, "criterion": CRITERION, "rules": {}}
    for rule in count_rules:
        sweep = checkout_sweep(test.dets, test.gts, num_classes, test.image_ids, thresholds,
                               include_difficult=include_difficult, count_rule=rule, agnostic_iou=agnostic_iou)
        out["rules"][rule] = {"best": _summary(sweep["best"]), "sweep": [_summary(r) for r in sweep["sweep"]]}
    return out
