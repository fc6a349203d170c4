"""RPC checkout metrics, hand-worked (Wei et al. 2019; definitions in issue 6)."""
import numpy as np
import pytest

from hl_detect.checkout import checkout_evaluate, checkout_metrics, checkout_sweep
from hl_detect.evaluation import make_detections, make_ground_truth


def m(pred, true):
    r = checkout_metrics(np.array(pred), np.array(true))
    return r["cAcc"], r["ACD"], r["mCCD"], r["mCIoU"]


def test_perfect():
    assert m([[2, 0], [0, 1]], [[2, 0], [0, 1]]) == (1.0, 0.0, 0.0, 1.0)


def test_one_missing_item():
    # image 0: A 1 of 2; image 1 right. cAcc 1/2; ACD (1 + 0) / 2; CCD A 1/2, B 0; CIoU A 1/2, B 1
    assert m([[1, 0], [0, 1]], [[2, 0], [0, 1]]) == (0.5, 0.5, 0.25, 0.75)


def test_one_extra_item():
    # image 0: A 2 for 1. CCD A 1/1, B 0/1; CIoU A 1/2, B 1
    assert m([[2, 0], [0, 1]], [[1, 0], [0, 1]]) == (0.5, 0.5, 0.5, 0.75)


def test_wrong_product():
    # true A, predicted B: ACD 2; CCD only for A (B never present): 1; CIoU A 0/1, B 0/1
    assert m([[0, 1]], [[1, 0]]) == (0.0, 2.0, 1.0, 0.0)


def test_empty_tray_counts_as_right():
    # image 1 is empty and predicted empty; class B absent everywhere -> left out of the means
    assert m([[1, 0], [0, 0]], [[1, 0], [0, 0]]) == (1.0, 0.0, 0.0, 1.0)
    assert m([[0, 0]], [[0, 0]])[:2] == (1.0, 0.0)


def _records():
    # image 0 holds A, A, B; image 1 is an empty tray (listed through image_ids)
    g = make_ground_truth([0, 0, 0], [1, 1, 2], np.zeros((3, 4)))
    d = make_detections([0, 0, 0, 0, 1], [1, 1, 2, 2, 1], [0.9, 0.6, 0.8, 0.3, 0.4],
                        np.zeros((5, 4)))
    return d, g


def test_evaluate_from_detections_uses_score_threshold():
    d, g = _records()
    r = checkout_evaluate(d, g, 2, image_ids=[0, 1], score_threshold=0.5)
    assert (r["cAcc"], r["ACD"]) == (1.0, 0.0)
    r = checkout_evaluate(d, g, 2, image_ids=[0, 1], score_threshold=0.7)  # loses one A
    assert (r["cAcc"], r["ACD"], r["mCCD"]) == (0.5, 0.5, 0.25)


def test_sweep_picks_best_threshold_by_cacc():
    d, g = _records()
    s = checkout_sweep(d, g, 2, image_ids=[0, 1], thresholds=[0.2, 0.35, 0.5, 0.65, 0.85])
    cacc = [r["cAcc"] for r in s["sweep"]]
    # .2: extra B in image 0, phantom A in image 1; .35: phantom A; .5: both right;
    # .65: image 0 misses an A; .85: image 0 misses an A and the B (image 1 right each time)
    assert cacc == [0.0, 0.5, 1.0, 0.5, 0.5]
    assert s["best_threshold"] == 0.5 and s["best"]["ACD"] == 0.0
    # ties in cAcc go to the lower ACD, then the lower threshold
    s = checkout_sweep(d, g, 2, image_ids=[0, 1], thresholds=[0.65, 0.85])  # ACD .5 vs 1
    assert s["best_threshold"] == pytest.approx(0.65)
    s = checkout_sweep(d, g, 2, image_ids=[0, 1], thresholds=[0.35, 0.65])  # both ACD .5
    assert s["best_threshold"] == pytest.approx(0.35)


def _level_records():
    # trays 1, 2 easy, 3 hard; all hold one A. Predicted: 1 right, 2 a B instead, 3 two A
    g = make_ground_truth([1, 2, 3], [1, 1, 1], np.zeros((3, 4)))
    d = make_detections([1, 2, 3, 3], [1, 2, 1, 1], [0.9] * 4, np.zeros((4, 4)))
    return d, g


def test_metrics_per_level_hand_worked():
    d, g = _level_records()
    r = checkout_evaluate(d, g, 2, image_levels={3: "hard", 1: "easy", 2: "easy"})
    assert list(r["by_level"]) == ["easy", "hard"]  # RPC's order, whatever the dict order
    # easy: cAcc 1/2, ACD (0 + 2)/2; CCD A 1/2 (B never present); CIoU A 1/2, B 0/1 -> 1/4
    assert r["by_level"]["easy"] == {"num_images": 2, "cAcc": 0.5, "ACD": 1.0, "mCCD": 0.5, "mCIoU": 0.25}
    # hard: 2 A for 1: cAcc 0, ACD 1, CCD 1, CIoU 1/2
    assert r["by_level"]["hard"] == {"num_images": 1, "cAcc": 0.0, "ACD": 1.0, "mCCD": 1.0, "mCIoU": 0.5}
    assert (r["cAcc"], r["ACD"]) == (pytest.approx(1 / 3), 1.0)  # overall: ACD (0 + 2 + 1) / 3
    # images without a level are their own group; no level anywhere: no per-level part
    assert list(checkout_evaluate(d, g, 2, image_levels={1: "easy"})["by_level"]) == ["easy", "none"]
    assert "by_level" not in checkout_evaluate(d, g, 2)


def test_evaluator_reports_levels_in_table_and_json():
    from hl_detect.evaluation import DetectionEvaluator, format_table

    d, g = _level_records()
    ev = DetectionEvaluator(2, ["A", "B"], checkout=True, image_levels={1: "easy", 2: "easy", 3: "hard"})
    for img in (1, 2, 3):
        dm, gm = d.images == img, g.images == img
        ev.update([{"boxes": d.boxes[dm], "scores": d.scores[dm], "labels": d.labels[dm]}],
                  [{"boxes": g.boxes[gm], "labels": g.labels[gm], "image_id": img}])
    result = ev.compute()
    assert result["checkout"]["by_level"]["easy"]["cAcc"] == 0.5
    table = format_table(result)
    assert "level" in table and "easy" in table and "hard" in table and "overall" in table
