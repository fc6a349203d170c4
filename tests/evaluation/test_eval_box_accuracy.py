"""Best-matching-box accuracy on crafted cases (authors' get_classify_acc.py, spec 4)."""
import numpy as np
import pytest

from hl_detect.evaluation import box_accuracy, make_detections, make_ground_truth

A = [0, 0, 10, 10]


def dets(rows):
    if not rows:
        return make_detections([], [], [], np.zeros((0, 4)))
    img, lab, sc, box = zip(*rows)
    return make_detections(img, lab, sc, box)


def gts(rows):
    img, lab, box, diff = zip(*rows)
    return make_ground_truth(img, lab, box, diff)


def test_wrong_class_wins_by_iou_whatever_the_score():
    g = gts([(0, 1, A, False)])
    d = dets([(0, 1, 0.99, [0, 0, 10, 7]),   # right class, IoU .7
              (0, 2, 0.03, [0, 0, 10, 9])])  # wrong class, low score, IoU .9 -> it decides
    r = box_accuracy(d, g, 2)
    assert (r["num_counted"], r["num_correct"], r["accuracy"], r["coverage"]) == (1, 0, 0.0, 1.0)
    assert r["confusion"].tolist() == [[0, 1], [0, 0]]


def test_iou_exactly_half_is_counted():
    g = gts([(0, 1, A, False), (1, 1, A, False)])
    d = dets([(0, 1, 0.9, [0, 0, 10, 5]),     # IoU 50/100 = .5 exactly -> counted (>=)
              (1, 1, 0.9, [0, 0, 10, 4.9])])  # IoU .49 -> not counted
    r = box_accuracy(d, g, 1)
    assert (r["num_counted"], r["accuracy"], r["coverage"]) == (1, 1.0, 0.5)


def test_other_images_detections_do_not_count_and_no_detections():
    g = gts([(0, 1, A, False)])
    r = box_accuracy(dets([(1, 1, 0.9, A)]), g, 1)
    assert r["num_counted"] == 0 and r["coverage"] == 0.0 and np.isnan(r["accuracy"])
    r = box_accuracy(dets([]), g, 1)
    assert r["coverage"] == 0.0 and np.isnan(r["accuracy"])


def test_per_class_confusion_difficult_switch_and_score_filter():
    g = gts([(0, 1, A, False), (0, 2, [20, 20, 30, 30], False), (0, 3, [40, 40, 50, 50], True)])
    d = dets([(0, 1, 0.9, A), (0, 1, 0.8, [20, 20, 30, 30]), (0, 3, 0.01, [40, 40, 50, 50])])
    r = box_accuracy(d, g, 3)  # difficult included by default (the authors' script)
    assert (r["num_objects"], r["num_counted"], r["num_correct"]) == (3, 3, 2)
    assert r["per_class_accuracy"].tolist() == [1.0, 0.0, 1.0]
    assert r["confusion"].tolist() == [[1, 0, 0], [1, 0, 0], [0, 0, 1]]
    r = box_accuracy(d, g, 3, include_difficult=False)
    assert (r["num_objects"], r["accuracy"]) == (2, 0.5)
    r = box_accuracy(d, g, 3, score_threshold=0.02)  # the 0.01 detection goes
    assert (r["num_counted"], r["coverage"]) == (2, pytest.approx(2 / 3))


def test_ties_in_iou_take_the_first_detection():
    g = gts([(0, 1, A, False)])
    d = dets([(0, 2, 0.5, A), (0, 1, 0.9, A)])
    assert box_accuracy(d, g, 2)["accuracy"] == 0.0
