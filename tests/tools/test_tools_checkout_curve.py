"""Epoch checkpoints, the training-time record and the checkout curve over them."""
import json

import pytest
import torch

from tiny_runs import run_tool, tiny_args

pytestmark = pytest.mark.slow  # whole runs of the tools, in subprocesses


@pytest.fixture(scope="module")
def curve_run(tiny_data_with_val, tmp_path_factory):
    """Two tiny epochs, the second in a resumed session whose saved time was set to 10^6 s."""
    tmp = tmp_path_factory.mktemp("curve")
    run = tmp / "run"
    common = ["--set", "eval_checkout=true", "--set", "data.options.num_val=4", "--set", "prediction_pictures=0",
              "--set", "keep_epoch_checkpoints=true"]
    run_tool("train_det.py", *tiny_args(tiny_data_with_val, run, "--epochs", "1", *common))
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
    assert "| epoch_001 | 1 |" in (out / "checkout_curve.md").read_text()


def test_first_checkpoint_that_meets_the_targets():
    from hl_detect.checkout.curve import first_meeting, target_line

    rows = [{"checkpoint": f"e{i}.pt", "epoch": i, "step": 10 * i, "train_seconds": 60.0 * i,
             "test_cAcc": c, "test_mCIoU": m} for i, (c, m) in enumerate([(0.1, 0.9), (0.35, 0.7), (0.31, 0.82)])]
    assert first_meeting(rows, 0.3, 0.8)["epoch"] == 2  # epoch 1 has the cAcc but not the mCIoU
    assert first_meeting(rows[::-1], 0.3, None)["epoch"] == 1  # training order, not list order
    assert first_meeting(rows, 0.5, None) is None
    assert target_line(rows, 0.3, 0.8) == ("target test cAcc >= 30 % and test mCIoU >= 80 %: first reached at "
                                           "epoch 2 (step 20, 2.0 min of training), e2")


def test_a_folder_without_checkpoints_is_a_clear_error(tmp_path):
    proc = run_tool("checkout_curve.py", tmp_path, check=False)
    assert proc.returncode == 2 and "no epochs/epoch_*.pt and no checkpoint.pt" in proc.stderr
    assert "keep_epoch_checkpoints=true" in proc.stderr and "Traceback" not in proc.stderr


def test_seeds_of_one_recipe_each_keep_their_report(curve_run, tmp_path):
    """Two seeds' checkpoint.pt (the same file name): two report folders, not one overwritten,
    and the seed summary."""
    import shutil

    for seed in ("seed0", "seed1"):
        (tmp_path / seed).mkdir()
        shutil.copy(curve_run / "epochs" / f"epoch_00{seed[-1]}.pt", tmp_path / seed / "checkpoint.pt")
    out = tmp_path / "seeds"
    proc = run_tool("checkout_curve.py", tmp_path / "seed0" / "checkpoint.pt", tmp_path / "seed1" / "checkpoint.pt",
                    "--seeds", "--workers", "0", "--output-dir", out, "--target-cacc", "1.01")
    assert (out / "seed0_checkpoint" / "eval_test.json").is_file() and (out / "seed1_checkpoint" / "eval_test.json").is_file()
    assert "over 2 checkpoints (seeds)" in proc.stdout and "met by 0 of 2 seeds" in proc.stdout
    assert "| seed1_checkpoint | 1 |" in (out / "checkout_curve.md").read_text()


def test_checkpoint_labels():
    from pathlib import Path

    from hl_detect.checkout.curve import checkpoint_labels

    assert checkpoint_labels([Path("r/epochs/epoch_000.pt"), Path("r/epochs/epoch_001.pt")]) == ["epoch_000", "epoch_001"]
    assert checkpoint_labels([Path("a_seed0/checkpoint.pt"), Path("a_seed1/checkpoint.pt"), Path("x.pt")]) == \
        ["a_seed0_checkpoint", "a_seed1_checkpoint", "x"]
    assert checkpoint_labels([Path("runs/s3/epochs/epoch_008.pt"), Path("runs/s4/epochs/epoch_008.pt"),
                              Path("runs/s0/checkpoint.pt")]) == \
        ["s3_epochs_epoch_008", "s4_epochs_epoch_008", "checkpoint"]


def test_seed_summary_is_mean_and_t_interval():
    from hl_detect.checkout.curve import seed_summary

    rows = [{"label": f"s{i}", "checkpoint": f"s{i}.pt", "test_cAcc": c, "test_ACD": 1.0, "test_mCCD": 0.3,
             "test_mCIoU": m, "box_accuracy": None, "mAP50_area": None, "threshold": 0.5, "train_seconds": 600.0}
            for i, (c, m) in enumerate([(0.4, 0.82), (0.5, 0.79), (0.6, 0.85)])]
    text = seed_summary(rows, target_cacc=0.3, target_mciou=0.8)
    # by hand: cAcc 40, 50, 60 %: mean 50, sample std 10, t(0.975, 2 dof) = 4.302653 -> 4.302653 * 10 / sqrt(3) = 24.84
    assert "| test cAcc | 50.00 +- 24.84 | 40.00 | 60.00 |" in text
    assert "| test ACD | 1.00 +- 0.00 | 1.00 | 1.00 |" in text
    assert "| train min | 10.00 +- 0.00 | 10.00 | 10.00 |" in text
    assert "box acc." not in text  # no values, no row
    assert "target test cAcc >= 30 % and test mCIoU >= 80 %: met by 2 of 3 seeds (missed: s1)" in text
