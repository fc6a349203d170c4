"""train_det / eval_det / predict / compare_losses (one loss over seeds) through the real command line (subprocesses)."""
import json
import math

import pytest
import torch

from hl_detect.engine import load_checkpoint
from tensorboard_events import tensorboard_tags
from tiny_runs import run_tool, tiny_args

pytestmark = pytest.mark.slow  # whole runs of the tools, in subprocesses


def test_train_eval_resume_predict_cycle(tiny_data, tmp_path):
    run = tmp_path / "run"
    first = run_tool("train_det.py", *tiny_args(tiny_data, run, "--epochs", "1"))
    assert "AP@0.5 (area)" in first.stdout and "box accuracy" in first.stdout
    assert "[epoch 0]" in first.stdout and "extra/CE gradient ratio at the box features" in first.stdout
    assert "[train]" not in first.stdout and "[eval] batch" not in first.stdout  # --no-progress: no step lines either
    for name in ("config.yaml", "metrics.json", "eval.csv", "eval.json", "checkpoint.pt"):
        assert (run / name).is_file(), name
    tags = tensorboard_tags(run / "tb")
    for tag in ("train/loss_classifier", "train/loss_box_reg", "train/loss_hypersphere", "train/lr", "eval/mAP50_area",
                "eval/box_accuracy", "hl/mean_center_angle_deg", "hl/fraction_inside_dead_zone", "hl/grad_ratio"):
        assert tag in tags["scalars"], tag
    assert "hl/feature_norm" in tags["histograms"]
    assert any(t.startswith("hl_distance_to_center/") for t in tags["scalars"])
    assert list((run / "tb").rglob("projector_config.pbtxt"))
    assert len(list((run / "predictions").glob("*.png"))) == 2
    ckpt = load_checkpoint(run / "checkpoint.pt")
    assert ckpt["epoch"] == 0 and ckpt["step"] == 2 and ckpt["epoch_complete"]
    assert {"model", "optimizer", "lr_scheduler", "config", "class_names"} <= set(ckpt)
    assert ckpt["model"]["roi_heads.cls_loss.num_updates"].item() == 2

    second = run_tool("train_det.py", "--resume", str(run), "--epochs", "2", "--no-progress")
    assert "[resume]" in second.stdout and "epoch 1, step 2" in second.stdout
    ckpt = load_checkpoint(run / "checkpoint.pt")
    assert ckpt["epoch"] == 1 and ckpt["step"] == 4
    assert ckpt["model"]["roi_heads.cls_loss.num_updates"].item() == 4  # HL state carried across the resume
    metrics = json.loads((run / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [0, 1] and metrics["step"] == 4
    assert [e["epoch"] for e in metrics["train_log"]] == [0, 1] and metrics["train_log"][1]["grad_ratio"] > 0
    assert 0.0 <= metrics["final"]["mAP50_area"] <= 1.0

    evaluated = run_tool("eval_det.py", str(run), "--workers", "0", "--no-progress")
    assert "mean" in evaluated.stdout
    report = json.loads((run / "eval_test.json").read_text())
    assert report["mAP50_area"] == pytest.approx(metrics["final"]["mAP50_area"])

    images = tiny_data / "JPEGImages"
    predicted = run_tool("predict.py", str(run), str(images), "--output-dir", str(tmp_path / "pred"), "--score-threshold", "0.0")
    assert "RECEIPT" in predicted.stdout
    pictures = list((tmp_path / "pred").glob("*.png"))
    assert len(pictures) == 12
    receipt = json.loads(next((tmp_path / "pred").glob("*.receipt.json")).read_text())
    assert receipt["total_items"] == sum(item["count"] for item in receipt["items"])


def test_non_finite_loss_stops_with_message(tiny_data, tmp_path):
    # centers on a sphere of radius 1e30: ||f - c||^2 overflows float32 at the first HL step
    # (the square, so the loss is inf; the default quartic's inf * inf terms reach nan)
    proc = run_tool("train_det.py", *tiny_args(tiny_data, tmp_path / "inf", "--epochs", "1", "--set", "loss_options.hl.radius=1e30",
                                               "--set", "loss_options.hl.power=2"), check=False)
    assert proc.returncode != 0
    assert "non-finite loss at epoch 0, step 0" in proc.stdout + proc.stderr
    assert "loss_hypersphere=inf" in proc.stdout + proc.stderr
    assert not (tmp_path / "inf" / "checkpoint.pt").exists()


def test_meaningless_hl_value_is_refused_before_training(tiny_data, tmp_path):
    proc = run_tool("train_det.py", *tiny_args(tiny_data, tmp_path / "nan", "--epochs", "1", "--set", "loss_options.hl.weight=.nan"), check=False)
    assert proc.returncode == 2
    assert "error: loss_options.hl: hypersphere loss: weight=nan must be finite numbers" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "nan" / "checkpoint.pt").exists()


def test_one_loss_over_seeds_aggregates_and_resumes(tiny_data, tmp_path):
    """The best / mean / std table of one recipe over seeds: compare_losses with one arm."""
    out = tmp_path / "seeds"
    args = [*tiny_args(tiny_data, out, "--epochs", "1"), "--losses", "hl", "--seeds", "0", "1"]
    first = run_tool("compare_losses.py", *args)
    assert "AP50 best" in first.stdout and "Acc mean" in first.stdout and "Acc std" in first.stdout
    table = json.loads((out / "comparison.json").read_text())["table"]
    assert list(table) == ["hl"] and table["hl"]["mAP50_area"]["n"] == 2
    again = run_tool("compare_losses.py", *args)
    assert again.stdout.count("not rerun") == 2


def test_gloo_ddp_two_processes(tiny_data, tmp_path):
    import sys

    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    proc = run_tool("train_det.py", *tiny_args(tiny_data, tmp_path / "ddp", "--epochs", "1", "--device", "cpu"), launcher=launcher)
    assert "world_size=2" in proc.stdout
    log = (tmp_path / "ddp" / "train.log").read_text()  # rank 0's alone: each line once
    assert log.count("===== started at ") == 1 and log.count("[epoch 0] ") == 1 and log.count("[run] ") == 1
    assert log.count("[time] where the time went") == 1 and proc.stdout.count("[time] where the time went") == 1
    ckpt = load_checkpoint(tmp_path / "ddp" / "checkpoint.pt")
    # 8 train images, 2 ranks x batch 2: 2 steps each; centers were updated from both ranks' RoIs
    assert ckpt["step"] == 2 and ckpt["model"]["roi_heads.cls_loss.num_updates"].item() == 2
    assert torch.isfinite(ckpt["model"]["roi_heads.cls_loss.centers"]).all()
    metrics = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert not math.isnan(metrics["final"]["mAP50_area"])
    assert metrics["timing"]["seconds"]["total"] == pytest.approx(metrics["elapsed_s"], abs=1e-3)  # rank 0's timing
