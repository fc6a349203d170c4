"""Non-finite weights or optimizer state are never saved (issue 24, item 4): SGD with
``weight_decay=1e38`` and ``lr=1e4`` (finite values the config check lets through; float32
weights cannot hold what they make) turns the weights to inf/NaN at the first optimizer step
while that step's loss was still
finite; the run stops with a message and the checkpoint on disk is the last finite one. Before,
the periodic checkpoint after that step was written, over the good one."""
import pytest
import torch

from hl_detect.engine import load_checkpoint
from hl_detect.engine.finite_state import first_non_finite
from tiny_runs import run_tool, tiny_args

QUICK = ["--set", "eval_coco=false", "--set", "projector=false", "--set", "prediction_pictures=0",
         "--set", "tensorboard_pictures=0", "--set", "threads=1"]
SGD = ["--set", "optimizer=sgd", "--set", "momentum=0"]
# grad + 1e38 * w is ~1e36 for a weight of 0.01; times lr 1e4 it is beyond float32: inf
OVERFLOW = ["--set", "lr=1.0e+4", "--set", "weight_decay=1.0e+38"]


def test_first_non_finite_names_the_tensor():
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(1, 2)).sum().backward()
    optimizer.step()
    assert first_non_finite(model, optimizer) is None
    next(iter(optimizer.state.values()))["momentum_buffer"][0, 1] = float("nan")
    assert first_non_finite(model, optimizer) == "optimizer.weight.momentum_buffer (1 of 4 values inf or NaN)"
    model.bias.data[0] = float("inf")
    assert first_non_finite(model, optimizer) == "model.bias (1 of 2 values inf or NaN)"


def assert_all_finite(ckpt):
    assert first_non_finite_in(ckpt["model"]) is None
    assert first_non_finite_in({f"{i}.{k}": v for i, s in ckpt["optimizer"]["state"].items() for k, v in s.items()}) is None


def first_non_finite_in(tensors):
    return next((k for k, v in tensors.items() if torch.is_tensor(v) and v.is_floating_point() and not torch.isfinite(v).all()), None)


@pytest.mark.slow
def test_an_overflowing_lr_leaves_the_last_finite_checkpoint(tiny_data, tmp_path):
    run = tmp_path / "run"
    # a checkpoint after every step: epoch 0 (2 steps) at a finite lr ...
    run_tool("train_det.py", *tiny_args(tiny_data, run, "--epochs", "1", "--set", "checkpoint_every_steps=1", *SGD, *QUICK))
    assert load_checkpoint(run / "checkpoint.pt")["step"] == 2

    # ... then on with the overflowing values: the weights are inf/NaN after step 3, whose loss was finite
    proc = run_tool("train_det.py", "--resume", run, "--epochs", "2", *OVERFLOW, "--allow-config-change",
                    "--no-progress", check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2, text[-3000:]
    assert "error: not saved at epoch 1, step 3: model." in text and "inf or NaN" in text
    assert f"the last good checkpoint is kept: {run / 'checkpoint.pt'}" in text
    assert "next step: lower lr" in text and "Traceback" not in text
    ckpt = load_checkpoint(run / "checkpoint.pt")
    assert ckpt["step"] == 2
    assert_all_finite(ckpt)


@pytest.mark.slow
def test_an_overflowing_lr_from_the_start_saves_nothing(tiny_data, tmp_path):
    run = tmp_path / "run"
    proc = run_tool("train_det.py", *tiny_args(tiny_data, run, "--epochs", "1", *SGD, *OVERFLOW,
                                               "--set", "checkpoint_every_steps=1", *QUICK), check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2, text[-3000:]
    assert "error: not saved at epoch 0, step 1: " in text and "no checkpoint was written before" in text
    assert not (run / "checkpoint.pt").exists()
