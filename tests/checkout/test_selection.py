"""Thresholds chosen on val and reported on test; the choice never reads test labels."""
import numpy as np
import pytest

from hl_detect.checkout import CheckoutData, calibrate_class_thresholds, oracle_sweep, select_on_val
from hl_detect.evaluation import DetectionEvaluator, make_detections, make_ground_truth
from hl_detect.checkout.report import format_checkout
from hl_detect.evaluation.synthetic_results import synthetic_results

GRID = [0.3, 0.5, 0.65, 0.8]
A, B = 1, 2


def split(objects, detections):
    """objects: (image, label); detections: (image, label, score); boxes apart (no overlaps)."""
    box = lambda i: [10.0 * i, 0, 10.0 * i + 5, 5]
    g = make_ground_truth([o[0] for o in objects], [o[1] for o in objects], [box(k) for k in range(len(objects))])
    d = make_detections([x[0] for x in detections], [x[1] for x in detections], [x[2] for x in detections],
                        [box(50 + k) for k in range(len(detections))])
    ids = np.unique([o[0] for o in objects] + [x[0] for x in detections])
    return CheckoutData(d, g, ids)


# val: tray 10 = A (a false B at .4), tray 11 = B. cAcc by threshold: .3 -> 1/2, .5 -> 1, .65 -> 1/2, .8 -> 0
VAL = split([(10, A), (11, B)], [(10, A, 0.6), (10, B, 0.4), (11, B, 0.7)])
# test: tray 20 = A, 21 = B (false A .62), 22 = B (false A .58).
# cAcc: .3 -> 1/3, .5 -> 1/3, .65 -> 2/3, .8 -> 1/3: the oracle would take .65
TEST = split([(20, A), (21, B), (22, B)], [(20, A, 0.55), (21, B, 0.75), (21, A, 0.62), (22, B, 0.9), (22, A, 0.58)])


def rows(selection, rule="per_class"):
    return {r["source"]: r for r in selection["rules"][rule]["rows"]}


def test_chosen_on_val_reported_on_test():
    sel = select_on_val(VAL, TEST, 2, fixed_threshold=0.8, thresholds=GRID, count_rules=("per_class",))
    assert (sel["chosen_on"], sel["reported_on"]) == ("val", "test")
    r = rows(sel)
    assert r["config"]["threshold"] == 0.8 and r["config"]["test"]["cAcc"] == pytest.approx(1 / 3)
    chosen = r["chosen on val"]
    assert chosen["threshold"] == 0.5
    assert chosen["val"]["cAcc"] == 1.0 and chosen["test"]["cAcc"] == pytest.approx(1 / 3)
    # test ACD at .5: tray 20 right, 21 and 22 one false A each -> 2/3
    assert chosen["test"]["ACD"] == pytest.approx(2 / 3)
    oracle = oracle_sweep(TEST, 2, thresholds=GRID, count_rules=("per_class",))
    assert oracle["label"] == "oracle (chosen on test)"
    assert oracle["rules"]["per_class"]["best"]["score_threshold"] == 0.65


def test_perturbed_test_labels_move_no_choice():
    base = select_on_val(VAL, TEST, 2, thresholds=GRID)
    g = TEST.gts
    flipped = TEST._replace(gts=g._replace(labels=3 - g.labels))  # every test object the other class
    dropped = TEST._replace(gts=g._replace(images=g.images[1:], labels=g.labels[1:], boxes=g.boxes[1:],
                                           difficult=g.difficult[1:]))
    for perturbed in (flipped, dropped):
        other = select_on_val(VAL, perturbed, 2, thresholds=GRID)
        for rule in ("per_class", "agnostic"):
            before, after = base["rules"][rule]["rows"], other["rules"][rule]["rows"]
            for x, y in zip(before, after):
                np.testing.assert_array_equal(x["threshold"], y["threshold"])
                assert x["val"] == y["val"]
            assert [x["test"] for x in before] != [y["test"] for y in after]  # the test labels did matter


def test_per_class_thresholds_hand_worked():
    # class A: val error 0 at .3 and .5 (the true A scores .6), 1 above; class B: error 1 at .3
    # (the false B .4), 0 at .5 and .65, 1 at .8. Nearest to start .65: A .5, B .65
    per = calibrate_class_thresholds(VAL, 2, 0.65, thresholds=GRID)
    assert per.tolist() == [0.5, 0.65]
    # a class never seen or predicted on val keeps the start value
    assert calibrate_class_thresholds(VAL, 3, 0.65, thresholds=GRID).tolist() == [0.5, 0.65, 0.65]


def test_per_class_tie_goes_to_the_lower_threshold():
    # tray 1: one A at .3 (true 1), tray 2: a false A at .6 (true 0)
    val = split([(1, A)], [(1, A, 0.3), (2, A, 0.6)])
    # errors: .25 -> 0 + 1, .5 -> 1 + 1, .75 -> 1 + 0: .25 and .75 tie, equally far from .5
    assert calibrate_class_thresholds(val, 1, 0.5, thresholds=[0.25, 0.5, 0.75]).tolist() == [0.25]


def test_report_names_both_thresholds_and_their_sources():
    sel = select_on_val(VAL, TEST, 2, thresholds=GRID)
    text = "\n".join(format_checkout({"score_threshold": 0.5, "count_rule": "per_class", "cAcc": 0.5, "ACD": 1.0,
                                      "mCCD": 0.2, "mCIoU": 0.8, "selection": sel,
                                      "oracle": oracle_sweep(TEST, 2, thresholds=GRID)}))
    for words in ("threshold from config", "chosen on val", "reported on test", "per class, calibrated on val",
                  "agnostic (IoU > 0.5 merged)", "oracle (chosen on test), not an estimate"):
        assert words in text, words


def test_evaluator_checkout_data_feeds_the_selection():
    preds, tgts = synthetic_results(12, 3, max_dets=10, seed=5)
    ev = DetectionEvaluator(3, checkout=True)
    ev.update(preds, tgts)
    data = ev.checkout_data()
    assert len(data.image_ids) == 12 and len(data.dets.scores) == sum(len(p["scores"]) for p in preds)
    sel = select_on_val(data, data, 3)
    chosen = rows(sel)["chosen on val"]
    assert chosen["val"] == chosen["test"]  # same data both sides: same numbers
