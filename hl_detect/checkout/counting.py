"""Which detections count as items: the rule behind the checkout metrics and the receipts.

D detections (of one image or many, ``images`` [D] says which), C classes, labels 1..C.

``count_rule``:
  "per_class"  every detection the model returns is one item of its class (the detector has
               already suppressed duplicates per class, torchvision's box_nms_thresh). Two
               boxes of different classes on one product are two items.
  "agnostic"   near-duplicates are suppressed across classes first, so one physical item
               gives one line: per image, in descending score (equal scores keep input
               order), a detection is dropped when its IoU with an already kept detection
               is > ``agnostic_iou`` (torchvision's nms keeps IoU == threshold too); the kept
               one is the highest-scoring label.
Then a kept detection counts when its score >= the threshold of its class: one threshold
for every class, or a [C] array (per-class thresholds, calibrated on validation data).

Suppression runs on all detections, before any threshold. With one threshold that equals
thresholding first: greedy suppression visits detections in score order, so every box
below the threshold is visited after every box above it and cannot change what those keep.
A sweep over thresholds can therefore suppress once (``count_mask`` with ``suppressed=``).
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, did_you_mean
from ..evaluation.iou import box_iou

COUNT_RULES = ("per_class", "agnostic")
DEFAULT_AGNOSTIC_IOU = 0.5


def check_count_rule(rule: str) -> str:
    if rule not in COUNT_RULES:
        raise ConfigError(f"unknown checkout count rule {rule!r}; {did_you_mean(rule, COUNT_RULES, 'rules')}",
                          hint="checkout_count_rule (or --count-rule) is per_class or agnostic")
    return rule


def agnostic_keep(images, boxes, scores, iou_threshold: float) -> np.ndarray:
    """bool [D]: the detections class-agnostic greedy suppression keeps, image by image."""
    images = np.asarray(images).reshape(-1)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    keep = np.zeros(len(scores), dtype=bool)
    by_image = np.argsort(images, kind="stable")  # rows of one image together, input order kept
    for rows in np.split(by_image, np.flatnonzero(np.diff(images[by_image])) + 1):
        order = rows[np.argsort(-scores[rows], kind="stable")]
        iou = box_iou(boxes[order], boxes[order])
        kept: list[int] = []
        for j in range(len(order)):
            if not kept or iou[j, kept].max() <= iou_threshold:
                kept.append(j)
        keep[order[kept]] = True
    return keep


def suppress(dets, count_rule: str = "per_class", agnostic_iou: float = DEFAULT_AGNOSTIC_IOU) -> np.ndarray:
    """bool [D]: the detections the rule keeps before any score threshold."""
    if check_count_rule(count_rule) == "agnostic":
        return agnostic_keep(dets.images, dets.boxes, dets.scores, agnostic_iou)
    return np.ones(len(dets.scores), dtype=bool)


def class_threshold(labels, thresholds) -> np.ndarray:
    """The threshold of each detection's class: a scalar, or a [C] array indexed by label - 1."""
    thresholds = np.asarray(thresholds, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    return np.full(len(labels), float(thresholds)) if thresholds.ndim == 0 else thresholds[labels - 1]


def count_mask(dets, thresholds, count_rule: str = "per_class", agnostic_iou: float = DEFAULT_AGNOSTIC_IOU,
               suppressed=None) -> np.ndarray:
    """bool [D]: the detections that are items. ``suppressed``: a precomputed ``suppress`` mask."""
    kept = suppress(dets, count_rule, agnostic_iou) if suppressed is None else suppressed
    return kept & (np.asarray(dets.scores) >= class_threshold(dets.labels, thresholds))
