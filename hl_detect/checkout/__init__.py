"""Retail checkout: from detections to a till receipt, and how well a model counts.

    products.py      the till's product names (Category), from a checkpoint's categories
    counting.py      the count rule: which detections count as items (per class / agnostic)
    metrics.py       cAcc, ACD, mCCD, mCIoU (RPC's checkout metrics) at one score threshold
    selection.py     thresholds chosen on a validation split (global / per class / oracle)
    settings.py      the threshold and rule a tool counts with (command line, thresholds file, config)
    thresholds_file.py  checkout_thresholds.json: written by eval_det --sweep, read by predict
    count_table.py   predict --csv: one row of product counts per image
    receipt.py       detections -> receipt lines; picture.py, label_layout.py: its picture
    report.py        the checkout part of the printed evaluation report
    curve.py         checkout metrics across checkpoints or seeds of one recipe
"""
# evaluation/ first: its DetectionEvaluator reports the metrics defined here, and these build
# on its IoU and records, so loading it first makes either import order work.
from .. import evaluation  # noqa: F401  isort: skip
from .counting import COUNT_RULES, DEFAULT_AGNOSTIC_IOU, agnostic_keep, check_count_rule, count_mask
from .metrics import checkout_evaluate, checkout_metrics, checkout_sweep, count_matrix
from .products import Category, till_categories
from .selection import CheckoutData, calibrate_class_thresholds, oracle_sweep, select_on_val

__all__ = ["COUNT_RULES", "DEFAULT_AGNOSTIC_IOU", "agnostic_keep", "check_count_rule", "count_mask",
           "checkout_evaluate", "checkout_metrics", "checkout_sweep", "count_matrix", "Category",
           "till_categories", "CheckoutData", "calibrate_class_thresholds", "oracle_sweep", "select_on_val"]
