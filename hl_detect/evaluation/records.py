"""Flat, per-dataset arrays that every metric of this package reads.

D detections, G ground-truth objects, C classes (labels 1..C; 0 is background).
``Detections``: images [D] int64, labels [D] int64, scores [D] float64, boxes [D, 4] float64.
``GroundTruth``: images [G] int64, labels [G] int64, boxes [G, 4] float64, difficult [G] bool.
``images`` is any integer key shared by detections and objects of the same image. Row order
is meaningful: it is the "input order" that breaks score ties (VOC devkit) and IoU ties.
"""
from typing import NamedTuple

import numpy as np


class Detections(NamedTuple):
    images: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    boxes: np.ndarray


class GroundTruth(NamedTuple):
    images: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray
    difficult: np.ndarray


def make_detections(images, labels, scores, boxes):
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return Detections(np.asarray(images, dtype=np.int64).reshape(-1),
                      np.asarray(labels, dtype=np.int64).reshape(-1),
                      np.asarray(scores, dtype=np.float64).reshape(-1), boxes)


def make_ground_truth(images, labels, boxes, difficult=None):
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if difficult is None:
        difficult = np.zeros(len(boxes), dtype=bool)
    return GroundTruth(np.asarray(images, dtype=np.int64).reshape(-1),
                       np.asarray(labels, dtype=np.int64).reshape(-1), boxes,
                       np.asarray(difficult, dtype=bool).reshape(-1))


def select(records, mask):
    """Rows of a Detections / GroundTruth where ``mask`` holds (order kept)."""
    return type(records)(*(field[mask] for field in records))
