"""A study's results over finished runs: mean ± 95 % CI, paired differences, Holm verdicts, the
study table and the sweep plot."""
import json
import math

import numpy as np
import pytest

from hl_detect.stats import mean_ci
from hl_detect.studies.arms import parse_arm
from hl_detect.studies.results import study_results
from hl_detect.studies.study_table import format_study
from hl_detect.studies.sweep_plot import plot_sweep


def test_mean_ci_is_the_t_interval():
    stat = mean_ci([1.0, 2.0, 6.0])
    sd = math.sqrt(((1 - 3) ** 2 + (2 - 3) ** 2 + (6 - 3) ** 2) / 2)
    assert stat["mean"] == 3.0 and stat["std"] == pytest.approx(sd)
    assert stat["ci"] == pytest.approx(4.302652729911275 * sd / math.sqrt(3))  # t_{0.975, 2}
    assert math.isnan(mean_ci([5.0])["ci"]) and mean_ci([])["n"] == 0


def write_run(root, arm, seed, ap, acc, ratio=None):
    folder = root / arm.folder / f"seed{seed}"
    folder.mkdir(parents=True)
    log = [{"epoch": 0, "grad_ratio": ratio}] if ratio is not None else [{"epoch": 0}]
    (folder / "metrics.json").write_text(json.dumps({"final": {"mAP50_area": ap, "box_accuracy": acc}, "train_log": log}))


def test_paired_differences_use_common_seeds(tmp_path):
    base, hl = parse_arm("softmax"), parse_arm("hl[weight=0.2]")
    for seed, (ap, acc) in enumerate([(0.80, 0.60), (0.90, 0.70), (0.85, 0.65)]):
        write_run(tmp_path, base, seed, ap, acc)
    for seed, (ap, acc) in enumerate([(0.82, 0.61), (0.93, 0.74)]):  # seed 2 not finished
        write_run(tmp_path, hl, seed, ap, acc, ratio=0.1 * (seed + 1))
    results = study_results(tmp_path, [base, hl], [0, 1, 2], base)
    r = results[1]
    assert r.seeds == [0, 1] and r.grad_ratio == pytest.approx(0.15)
    assert r.paired["ap50"]["values"] == pytest.approx([2.0, 3.0])
    assert r.paired["ap50"]["ci"] == pytest.approx(12.706204736174698 * math.sqrt(0.5) / math.sqrt(2))
    assert r.paired["acc"]["mean"] == pytest.approx(2.5)
    text = format_study(results, base)
    assert "| hl[weight=0.2] | 2 |" in text and "+2.50" in text
    path = plot_sweep(results, "loss_options.hl.weight", tmp_path / "sweep.png", references=[results[0]])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_holm_verdicts_plateau_and_curves(tmp_path):
    """Three arms against softmax over 6 seeds: a clear loss, a tight tie, a noisy tie."""
    from scipy import stats

    base = parse_arm("softmax")
    arms = {"hl[weight=20]": -8.0, "hl[weight=0.2]": 0.0, "cosface": 0.0}
    jitter = {"hl[weight=20]": [0.5, -0.4, 0.3, -0.2, 0.1, -0.3], "hl[weight=0.2]": [0.2, -0.1, 0.1, -0.2, 0.0, 0.1],
              "cosface": [6.0, -5.0, 4.0, -7.0, 5.0, -3.0]}
    softmax_acc = [60.0, 62.0, 65.0, 61.0, 63.0, 64.0]
    for seed, acc in enumerate(softmax_acc):
        write_run(tmp_path, base, seed, 0.9, acc / 100)
    for label, shift in arms.items():
        arm = parse_arm(label)
        for seed, acc in enumerate(softmax_acc):
            value = (acc + shift + jitter[label][seed]) / 100
            write_run(tmp_path, arm, seed, 0.9, value)
            path = tmp_path / arm.folder / f"seed{seed}" / "metrics.json"
            data = json.loads(path.read_text())
            data["history"] = [{"epoch": e, "box_accuracy": value - 0.01 * (2 - e), "mAP50_area": 0.9} for e in range(3)]
            data["elapsed_s"] = 600.0
            path.write_text(json.dumps(data))
    results = {r.arm.label: r for r in study_results(tmp_path, [base] + [parse_arm(a) for a in arms], list(range(6)), base)}
    raw = {a: stats.ttest_rel([acc + arms[a] + j for acc, j in zip(softmax_acc, jitter[a])], softmax_acc).pvalue for a in arms}
    order = sorted(raw, key=raw.get)
    expected = {}
    running = 0.0
    for rank, a in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * raw[a]))
        expected[a] = running
    for a in arms:
        assert results[a].p_holm["acc"] == pytest.approx(expected[a], rel=1e-6)
    assert results["hl[weight=20]"].verdict["acc"] == "worse"
    assert results["hl[weight=0.2]"].verdict["acc"] == "equivalent (±2)"
    assert results["cosface"].verdict["acc"] == "undecided"  # its 95 % CI contains 0, but that is not equivalence
    plateau = results["hl[weight=0.2]"].plateau["acc"]
    assert [p["mean"] for p in plateau] == pytest.approx([np.mean(softmax_acc) + d + 0.01 for d in (-2, -1, 0)], abs=0.05)
    assert results["cosface"].wall_minutes["mean"] == pytest.approx(10.0) and results["softmax"].wall_minutes is None
    assert results["cosface"].runs[0]["history"][2]["epoch"] == 2
    text = format_study(list(results.values()), base)
    assert "worse" in text and "equivalent (±2)" in text
    strict = study_results(tmp_path, [base] + [parse_arm(a) for a in arms], list(range(6)), base, claim_seeds=8)
    assert {r.verdict["acc"] for r in strict if r.arm != base} == {"undecided (n < 8)"}  # 6 seeds: no claim
    assert [r.p_holm["acc"] for r in strict if r.arm != base] == [results[a].p_holm["acc"] for a in arms]
