"""Per-class table (terminal, CSV, JSON) and the multi-seed best / mean / std aggregate."""
import csv
import json

import numpy as np
import pytest

from hl_detect.evaluation import DetectionEvaluator, aggregate_runs, format_table, save_report
from hl_detect.evaluation.synthetic_results import synthetic_results


@pytest.fixture(scope="module")
def result():
    preds, tgts = synthetic_results(20, 3, max_dets=20, seed=1)
    ev = DetectionEvaluator(3, ["cat", "dog", "bird"], coco=True, checkout=True,
                            checkout_oracle_sweep=True)
    ev.update(preds, tgts)
    return ev.compute()


def test_table_csv_json(result, tmp_path):
    text = save_report(result, tmp_path, "run")
    assert text == format_table(result)
    for word in ("class", "AP07", "AP-area", "accuracy", "#objects", "cat", "bird", "mean",
                 "COCO AP", "cAcc", "oracle (chosen on test)"):
        assert word in text
    with open(tmp_path / "run.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["class", "AP07", "AP-area", "accuracy", "#objects"]
    assert [r[0] for r in rows[1:]] == ["cat", "dog", "bird", "mean"]
    assert float(rows[-1][2]) == pytest.approx(result["mAP50_area"])
    with open(tmp_path / "run.json") as f:
        assert json.load(f) == json.loads(json.dumps(result))


def test_aggregate_best_mean_std(tmp_path):
    runs = []
    for k, v in enumerate([0.80, 0.82, 0.81]):
        path = tmp_path / f"seed{k}.json"
        path.write_text(json.dumps({"mAP50_area": v, "box_accuracy": 1 - v,
                                    "checkout": {"ACD": v}}))
        runs.append(str(path))
    agg = aggregate_runs(runs, metrics=("mAP50_area", "box_accuracy", "checkout.ACD", "absent"))
    assert agg["mAP50_area"]["best"] == 0.82
    assert agg["mAP50_area"]["mean"] == pytest.approx(0.81)
    assert agg["mAP50_area"]["std"] == pytest.approx(np.std([0.80, 0.82, 0.81], ddof=1))  # sample std
    assert agg["checkout.ACD"]["best"] == 0.80  # lower is better
    assert "absent" not in agg
    assert aggregate_runs(runs, ("mAP50_area",), ddof=0)["mAP50_area"]["std"] == \
        pytest.approx(np.std([0.80, 0.82, 0.81]))
