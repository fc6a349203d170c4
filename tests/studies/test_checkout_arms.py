"""The recipes' checkout table (issue 27 item 4): mean ± 95 % CI over seeds from each run's
metrics.json, and the share of the upper bound's cAcc, against hand computations."""
import json
import math

import pytest

from hl_detect.studies.checkout_arms import ArmRuns, checkout_arms_table, recovered_share, seed_metrics
from tiny_runs import run_tool


def write_run(folder, seed, cacc, miou=0.8, box=0.9, coverage=0.95, ap=0.97, train_s=600.0, resumed=False):
    path = folder / f"seed{seed}" / "metrics.json"
    path.parent.mkdir(parents=True)
    final = {"checkout": {"cAcc": cacc, "mCIoU": miou}, "box_accuracy": box, "box_coverage": coverage, "mAP50_area": ap}
    timing = {"seconds": {"training": train_s}, "covers": "this invocation" + (" (resumed from x)" if resumed else "")}
    path.write_text(json.dumps({"final": final, "elapsed_s": train_s + 60, "timing": timing,
                                "resumes": [{"exact": True}] if resumed else []}))


def test_means_cis_and_the_paired_share(tmp_path):
    for seed, cacc in enumerate([0.2, 0.4, 0.3]):
        write_run(tmp_path / "b", seed, cacc)
    for seed, cacc in enumerate([0.4, 0.5, 0.6]):
        write_run(tmp_path / "c", seed, cacc, train_s=1200.0)
    table, summary = checkout_arms_table([ArmRuns("b", tmp_path / "b"), ArmRuns("c", tmp_path / "c")], bound="c")
    b = summary["b"]["metrics"]["cAcc"]
    assert b["mean"] == pytest.approx(30.0) and b["n"] == 3
    assert b["ci"] == pytest.approx(4.302653 * 10.0 / math.sqrt(3), rel=1e-5)  # t_{0.975,2} * s / sqrt(n), s = 10
    share = summary["b"]["share_of_bound_cAcc"]
    assert share["of_means"] == pytest.approx(100 * 30 / 50)
    assert share["paired"]["values"] == pytest.approx([50.0, 80.0, 50.0])  # 20/40, 40/50, 30/60 per seed
    assert summary["c"]["metrics"]["minutes"]["mean"] == pytest.approx(20.0)  # the training phase, not elapsed_s
    lines = table.splitlines()
    assert lines[0].startswith("| arm | seeds | cAcc |") and lines[0].endswith("(of means; paired) |")
    assert lines[2].startswith("| b | 0, 1, 2 | 30.00 ± 24.84 |") and "60.0 %; 60.0 ± 43.0 %" in lines[2]
    assert lines[3].endswith("| - |")  # the bound against itself


def test_only_common_seeds_are_paired(tmp_path):
    write_run(tmp_path / "b", 0, 0.2)
    write_run(tmp_path / "b", 1, 0.6)
    write_run(tmp_path / "c", 1, 0.6)
    share = recovered_share(seed_metrics(tmp_path / "b"), seed_metrics(tmp_path / "c"))
    assert share["seeds"] == [1] and share["paired"]["values"] == pytest.approx([100.0])
    assert share["of_means"] == pytest.approx(100.0)  # seed 1's 60 over 60, not the arm's mean over both seeds


def test_a_resumed_run_is_left_out_of_the_minutes(tmp_path):
    """Its metrics.json times only the last session: averaging it in would understate the arm."""
    write_run(tmp_path / "a", 0, 0.1, train_s=600.0)
    write_run(tmp_path / "a", 1, 0.1, train_s=60.0, resumed=True)
    table, summary = checkout_arms_table([ArmRuns("a", tmp_path / "a")])
    assert summary["a"]["metrics"]["minutes"]["values"] == [10.0]
    assert "| 10.0 (1 of 2 seeds timed) | 11.0 (1 of 2 seeds timed) |" in table  # wall: elapsed_s, unbroken runs


def test_a_run_without_checkout_metrics_is_named(tmp_path):
    path = tmp_path / "a" / "seed0" / "metrics.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"final": {"box_accuracy": 0.5}, "elapsed_s": 1}))
    with pytest.raises(ValueError, match=r"seed0/metrics.json: final.checkout.cAcc is missing"):
        seed_metrics(tmp_path / "a")


def test_the_tool_writes_both_files_and_refuses_a_missing_folder(tmp_path):
    write_run(tmp_path / "a", 0, 0.1)
    out = tmp_path / "out" / "table"
    proc = run_tool("checkout_arms.py", "--arm", f"(a) exemplars={tmp_path / 'a'}", "--output", out)
    assert "| (a) exemplars | 0 | 10.00 |" in proc.stdout
    assert (out.parent / "table.md").read_text() == proc.stdout and json.loads((out.parent / "table.json").read_text())
    proc = run_tool("checkout_arms.py", "--arm", f"x={tmp_path / 'nowhere'}", check=False)
    assert proc.returncode == 2 and "no folder" in proc.stdout + proc.stderr


def test_seeds_keeps_only_the_held_out_runs(tmp_path):
    for seed, cacc in enumerate([0.9, 0.9, 0.2, 0.4]):  # seeds 0, 1 tuned on: left out
        write_run(tmp_path / "b", seed, cacc)
    for seed in range(4):
        write_run(tmp_path / "c", seed, 0.5)
    _, summary = checkout_arms_table([ArmRuns("b", tmp_path / "b"), ArmRuns("c", tmp_path / "c")], bound="c",
                                     seeds=[2, 3])
    assert summary["b"]["seeds"] == [2, 3] and summary["c"]["seeds"] == [2, 3]
    assert summary["b"]["metrics"]["cAcc"]["mean"] == pytest.approx(30.0)
    assert summary["b"]["share_of_bound_cAcc"]["paired"]["values"] == pytest.approx([40.0, 80.0])
