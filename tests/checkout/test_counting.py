"""Count rules (counting.py) on hand-made trays, and against a slow pure-Python reference."""
import numpy as np
import pytest

from hl_detect.errors import ConfigError
from hl_detect.checkout import agnostic_keep, checkout_evaluate, count_mask
from hl_detect.evaluation import make_detections, make_ground_truth


def dets(rows, image=0):
    """rows: (label, score, box)."""
    return make_detections([image] * len(rows), [r[0] for r in rows], [r[1] for r in rows],
                           [r[2] for r in rows])


def test_two_labels_on_one_item_are_one_line():
    # A and B on the same product: IoU 9*10 / (11*10) = 0.818; C elsewhere (IoU 0)
    d = dets([(1, 0.9, [0, 0, 10, 10]), (2, 0.6, [1, 0, 11, 10]), (3, 0.8, [20, 0, 30, 10])])
    assert count_mask(d, 0.5, "per_class").tolist() == [True, True, True]
    assert count_mask(d, 0.5, "agnostic", 0.7).tolist() == [True, False, True]  # A kept: higher score
    assert count_mask(d, 0.5, "agnostic", 0.85).tolist() == [True, True, True]  # 0.818 < 0.85: two items
    g = make_ground_truth([0, 0], [1, 3], np.zeros((2, 4)))
    assert checkout_evaluate(d, g, 3, count_rule="per_class")["cAcc"] == 0.0
    assert checkout_evaluate(d, g, 3, count_rule="agnostic", agnostic_iou=0.7)["cAcc"] == 1.0


def test_lower_scored_label_wins_nothing_even_if_first_in_input():
    d = dets([(2, 0.6, [1, 0, 11, 10]), (1, 0.9, [0, 0, 10, 10])])
    assert count_mask(d, 0.0, "agnostic", 0.5).tolist() == [False, True]


def test_iou_equal_to_the_setting_is_kept():
    # [0,0,10,10] vs [0,0,10,5]: IoU exactly 50 / 100 = 0.5; only IoU > setting is merged
    d = dets([(1, 0.9, [0, 0, 10, 10]), (2, 0.8, [0, 0, 10, 5])])
    assert agnostic_keep(d.images, d.boxes, d.scores, 0.5).tolist() == [True, True]
    assert agnostic_keep(d.images, d.boxes, d.scores, 0.49).tolist() == [True, False]


def test_a_suppressed_box_suppresses_nothing():
    # A-B IoU 60/140 = .43, B-C .43, A-C 20/180 = .11; at 0.4 B goes, then C stays (greedy NMS)
    d = dets([(1, 0.9, [0, 0, 10, 10]), (2, 0.8, [4, 0, 14, 10]), (3, 0.7, [8, 0, 18, 10])])
    assert agnostic_keep(d.images, d.boxes, d.scores, 0.4).tolist() == [True, False, True]


def test_equal_scores_keep_input_order_and_images_are_separate():
    d = make_detections([5, 5, 7], [1, 2, 2], [0.8, 0.8, 0.8], [[0, 0, 10, 10]] * 3)
    assert agnostic_keep(d.images, d.boxes, d.scores, 0.5).tolist() == [True, False, True]


def test_empty_and_per_class_thresholds():
    empty = make_detections([], [], [], np.zeros((0, 4)))
    assert agnostic_keep(empty.images, empty.boxes, empty.scores, 0.5).tolist() == []
    assert count_mask(empty, 0.5, "agnostic").tolist() == []
    d = dets([(1, 0.45, [0, 0, 10, 10]), (2, 0.45, [20, 0, 30, 10])])
    assert count_mask(d, np.array([0.4, 0.5]), "per_class").tolist() == [True, False]


def test_unknown_rule_is_a_config_error():
    with pytest.raises(ConfigError, match="did you mean 'agnostic'"):
        count_mask(dets([]), 0.5, "agnostics")


def _slow_reference(images, labels, scores, boxes, thr, iou_thr):
    """Threshold first, then greedy class-agnostic NMS, in plain Python."""
    def iou(a, b):
        iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = iw * ih
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
        return inter / union if union > 0 else 0.0

    keep = [False] * len(scores)
    for img in set(images):
        idx = [i for i in range(len(scores)) if images[i] == img and scores[i] >= thr]
        idx.sort(key=lambda i: -scores[i])  # Python's sort is stable: ties keep input order
        kept = []
        for i in idx:
            if all(iou(boxes[i], boxes[k]) <= iou_thr for k in kept):
                kept.append(i)
        for i in kept:
            keep[i] = True
    return keep


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_suppress_then_threshold_equals_threshold_then_suppress(seed):
    rng = np.random.default_rng(seed)
    n = 60
    images = rng.integers(0, 4, n)
    xy = rng.uniform(0, 40, (n, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(5, 20, (n, 2))], axis=1)
    scores = np.round(rng.uniform(0, 1, n), 1)  # rounded: many ties
    labels = rng.integers(1, 4, n)
    d = make_detections(images, labels, scores, boxes)
    for thr in (0.0, 0.3, 0.55, 0.9):
        expected = _slow_reference(images.tolist(), labels.tolist(), scores.tolist(), boxes.tolist(), thr, 0.3)
        assert count_mask(d, thr, "agnostic", 0.3).tolist() == expected
