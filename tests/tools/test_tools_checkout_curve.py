"""Epoch checkpoints, the training-time record and the checkout curve over them."""
import json

import pytest
import torch

from tiny_runs import run_tool, tiny_args


@pytest.fixture(scope="module")
def curve_run(tmp_path_factory):
    """Two tiny epochs, the second in a resumed session whose saved time was set to 10^6 s."""
    from hl_detect.data import ensure_synthetic_dataset

    tmp = tmp_path_factory.mktemp("curve")
    data = ensure_synthetic_dataset(tmp / "data", num_classes=20, num_train=8, num_test=4, seed=0, image_size=128)
    run = tmp / "run"
    common = ["--set", "eval_checkout=true", "--set", "data.options.num_val=4", "--set", "prediction_pictures=0",
              "--set", "keep_epoch_checkpoints=true"]
    run_tool("train_det.py", *tiny_args(data.root, run, "--epochs", "1", *common))
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    ckpt["train_seconds"] = 1e6  # a resumed session must add to what the checkpoint says
    torch.save(ckpt, run / "checkpoint.pt")
    run_tool("train_det.py", "--resume", run, "--epochs", "2", "--no-progress")
    return run


def _load(path):
    return torch.load(path, weights_only=True)


def test_each_epoch_keeps_its_checkpoint_and_time(curve_run):
    first, second = _load(curve_run / "epochs" / "epoch_000.pt"), _load(curve_run / "epochs" / "epoch_001.pt")
    assert (first["epoch"], second["epoch"]) == (0, 1) and first["step"] < second["step"]
    assert 0 < first["train_seconds"] < 1e6 < second["train_seconds"] < 1e6 + 600
    last = _load(curve_run / "checkpoint.pt")
    assert all(torch.equal(last["model"][k], second["model"][k]) for k in last["model"])
    assert not any(torch.equal(first["model"][k], second["model"][k]) for k in first["model"]
                   if k.endswith("cls_score.weight"))


def test_curve_is_eval_det_sweep_per_checkpoint(curve_run, tmp_path):
    out = tmp_path / "curve"
    proc = run_tool("checkout_curve.py", curve_run, "--workers", "0", "--output-dir", out, "--target-cacc", "1.01")
    assert "not reached by any checkpoint here" in proc.stdout
    rows = json.loads((out / "checkout_curve.json").read_text())
    assert [(r["epoch"], r["count_rule"]) for r in rows] == [(0, "agnostic"), (1, "agnostic")]
    # independent: eval_det --sweep on the second epoch's file gives the same chosen row
    run_tool("eval_det.py", curve_run / "epochs" / "epoch_001.pt", "--workers", "0", "--no-progress", "--sweep",
             "--output-dir", tmp_path / "direct")
    report = json.loads((tmp_path / "direct" / "eval_test.json").read_text())
    chosen = report["checkout"]["selection"]["rules"]["agnostic"]["rows"][1]
    assert chosen["source"] == "chosen on val"
    assert (rows[1]["threshold"], rows[1]["test_cAcc"], rows[1]["test_mCIoU"], rows[1]["val_cAcc"]) == \
        (chosen["threshold"], chosen["test"]["cAcc"], chosen["test"]["mCIoU"], chosen["val"]["cAcc"])
    assert rows[1]["box_accuracy"] == report["box_accuracy"]
    assert "| epoch_001.pt | 1 |" in (out / "checkout_curve.md").read_text()


def test_first_checkpoint_that_meets_the_targets():
    from hl_detect.evaluation.checkout_curve import first_meeting, target_line

    rows = [{"checkpoint": f"e{i}.pt", "epoch": i, "step": 10 * i, "train_seconds": 60.0 * i,
             "test_cAcc": c, "test_mCIoU": m} for i, (c, m) in enumerate([(0.1, 0.9), (0.35, 0.7), (0.31, 0.82)])]
    assert first_meeting(rows, 0.3, 0.8)["epoch"] == 2  # epoch 1 has the cAcc but not the mCIoU
    assert first_meeting(rows[::-1], 0.3, None)["epoch"] == 1  # training order, not list order
    assert first_meeting(rows, 0.5, None) is None
    assert target_line(rows, 0.3, 0.8) == ("target test cAcc >= 30 % and test mCIoU >= 80 %: first reached at "
                                           "epoch 2 (step 20, 2.0 min of training), e2.pt")


def test_a_folder_without_checkpoints_is_a_clear_error(tmp_path):
    proc = run_tool("checkout_curve.py", tmp_path, check=False)
    assert proc.returncode == 2 and "checkpoint" in proc.stderr and "Traceback" not in proc.stderr
