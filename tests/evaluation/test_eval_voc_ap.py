"""Hand-worked VOC AP cases (devkit rules, spec 4); every expected number is worked out below."""
import numpy as np
import pytest

from hl_detect.evaluation import (VOC07_RECALL_THRESHOLDS, devkit_ap, evaluate_voc,
                                  make_detections, make_ground_truth, mean_ap, voc_ap)

A = [0, 0, 10, 10]
B = [20, 20, 30, 30]
FAR = [100, 100, 110, 110]


def dets(rows):  # rows: (image, label, score, box)
    if not rows:
        return make_detections([], [], [], np.zeros((0, 4)))
    img, lab, sc, box = zip(*rows)
    return make_detections(img, lab, sc, box)


def gts(rows):  # rows: (image, label, box, difficult)
    img, lab, box, diff = zip(*rows)
    return make_ground_truth(img, lab, box, diff)


def both(d, g, num_classes=1, **kw):
    return (voc_ap(d, g, num_classes, use_07_metric=False, **kw)[0],
            voc_ap(d, g, num_classes, use_07_metric=True, **kw)[0])


def test_perfect_detector():
    g = gts([(0, 1, A, False), (0, 1, B, False), (1, 1, A, False)])
    d = dets([(0, 1, 0.9, A), (0, 1, 0.8, B), (1, 1, 0.7, A)])
    # 11-point sums 1/11 eleven times, as the devkit does: 1.0000000000000002
    assert both(d, g) == (1.0, pytest.approx(1.0, abs=1e-15))


def test_all_false_positives():
    g = gts([(0, 1, A, False)])
    d = dets([(0, 1, 0.9, FAR), (1, 1, 0.8, A)])  # right box, wrong image
    assert both(d, g) == (0.0, 0.0)


def test_duplicates_and_11_point_vs_area():
    # sorted: A (TP), A again (FP, duplicate), B (TP); npos 2
    # rec [.5, .5, 1], prec [1, .5, 2/3]; envelope [1, 2/3, 2/3]
    # area = .5 * 1 + .5 * 2/3 = 5/6
    # 11-point: t = 0 .. 0.5 (6 points) -> 1, t = 0.6 .. 1.0 (5 points) -> 2/3: (6 + 10/3) / 11
    g = gts([(0, 1, A, False), (0, 1, B, False)])
    d = dets([(0, 1, 0.9, A), (0, 1, 0.8, A), (0, 1, 0.7, B)])
    area, ap07 = both(d, g)
    assert area == pytest.approx(5 / 6, abs=1e-12)
    assert ap07 == pytest.approx((6 + 10 / 3) / 11, abs=1e-12)


def test_detection_on_difficult_is_ignored_even_when_duplicate():
    D = [40, 40, 50, 50]
    g = gts([(0, 1, A, False), (0, 1, D, True)])
    # D twice (neither TP nor FP, also the second), then A: tp [0, 0, 1], fp [0, 0, 0]
    d = dets([(0, 1, 0.95, D), (0, 1, 0.93, D), (0, 1, 0.9, A)])
    assert both(d, g) == (1.0, pytest.approx(1.0, abs=1e-15))
    res = evaluate_voc(d, g, 1)
    assert res["npos"].tolist() == [1]  # difficult objects are not positives


def test_no_fallback_to_second_best_object():
    # A and A2 overlap; the second detection's best object is A (taken) -> FP, although its
    # IoU with A2 is also > 0.5 (COCO would match it to A2).
    A2 = [1, 0, 11, 10]
    g = gts([(0, 1, A, False), (0, 1, A2, False)])
    d = dets([(0, 1, 0.9, A), (0, 1, 0.8, [0.2, 0, 10.2, 10])])  # IoU 0.96 with A, 0.8 with A2
    # tp [1, 0], fp [0, 1]: rec [.5, .5], prec [1, .5] -> area .5; 11-point 6/11
    area, ap07 = both(d, g)
    assert area == pytest.approx(0.5) and ap07 == pytest.approx(6 / 11)


def test_best_object_is_difficult_no_fallback():
    D = [0, 0, 10, 9]  # difficult, IoU 0.9 with the detection; A has IoU 0.81 but is not used
    g = gts([(0, 1, A, False), (0, 1, D, True)])
    d = dets([(0, 1, 0.9, [0, 0, 10, 9.1])])
    assert both(d, g) == (0.0, 0.0)


def test_classes_without_ground_truth_are_nan_and_left_out_of_map():
    g = gts([(0, 1, A, False), (0, 3, B, True)])  # class 2 absent, class 3 only difficult
    d = dets([(0, 1, 0.9, A), (0, 2, 0.8, B), (0, 3, 0.7, B)])
    res = evaluate_voc(d, g, 3)
    ap = res["ap_area"][0]
    assert ap[0] == 1.0 and np.isnan(ap[1]) and np.isnan(ap[2])
    assert mean_ap(ap, res["npos"]) == 1.0


def test_images_without_detections_and_empty_input():
    g = gts([(0, 1, A, False), (1, 1, A, False)])
    d = dets([(0, 1, 0.9, A)])
    assert both(d, g) == (0.5, pytest.approx(6 / 11))
    assert both(dets([]), g) == (0.0, 0.0)


def test_ties_keep_input_order():
    g = gts([(0, 1, A, False)])
    fp_first = dets([(0, 1, 0.5, FAR), (0, 1, 0.5, A)])  # prec [0, .5], rec [0, 1] -> AP .5
    tp_first = dets([(0, 1, 0.5, A), (0, 1, 0.5, FAR)])  # prec [1, .5], rec [1, 1] -> AP 1
    assert both(fp_first, g)[0] == 0.5
    assert both(tp_first, g)[0] == 1.0


def test_recall_exactly_point_three_misses_threshold_0_30000000000000004():
    assert VOC07_RECALL_THRESHOLDS[3] == 0.30000000000000004 != 0.3
    # npos 10: TP TP TP (rec .1 .2 .3, prec 1), FP FP FP, TP (rec .4, prec 4/7)
    # rec 3/10 == 0.3 < 0.30000000000000004, so p(t3) = 4/7, not 1:
    # 11-point = (3 * 1 + 2 * 4/7) / 11  (t = 0, .1, .2 -> 1; t3, t4 -> 4/7; t >= .5 -> 0)
    rec = np.array([1, 2, 3, 3, 3, 3, 4]) / 10.0
    tp = np.array([1, 2, 3, 3, 3, 3, 4], dtype=float)
    prec = tp / np.arange(1, 8)
    assert devkit_ap(rec, prec, use_07_metric=True) == pytest.approx((3 + 8 / 7) / 11, abs=1e-15)
    # with a plain 0.3 threshold the answer would have been (4 + 4/7) / 11
    assert abs(devkit_ap(rec, prec, True) - (4 + 4 / 7) / 11) > 0.03


def test_plus_one_changes_iou_near_threshold():
    # without +1: 9 * 4.5 / 81 = .5 exactly (not > .5 -> FP); with +1: 10 * 5.5 / 100 = .55 (TP)
    g = gts([(0, 1, [0, 0, 9, 9], False)])
    d = dets([(0, 1, 0.9, [0, 0, 9, 4.5])])
    assert both(d, g, plus_one=False)[0] == 0.0
    assert both(d, g, plus_one=True)[0] == 1.0
    # the exact-.5 IoU stays FP at threshold .5 but is TP just below it
    assert voc_ap(d, g, 1, iou_threshold=0.4999)[0] == 1.0
