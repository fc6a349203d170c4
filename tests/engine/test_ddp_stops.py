"""Under DDP a stop is decided once for all ranks (issue 24, item 5): a NaN loss on one rank and a
failed checkpoint write on rank 0 stop both ranks, each with the message, without a hang, and
the checkpoint on disk stays the last good one. 2 ranks on CPU (gloo), through torchrun; the
faults come from tests/engine/faulty_train.py. Before, the rank with the NaN stopped alone
(its peer went on into the backward pass) and rank 0's failed write was its own traceback."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hl_detect.engine import load_checkpoint
from tiny_runs import REPO, tiny_args

pytestmark = pytest.mark.slow  # two torchrun jobs

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
FAULTY = Path(__file__).with_name("faulty_train.py")
# 8 images, 2 ranks x batch 2: 2 steps per epoch; 2 epochs, evaluated after the last one only
RUN = ["--device", "cpu", "--epochs", "2", "--set", "threads=1", "--set", "eval_every=100", "--set", "eval_coco=false",
       "--set", "projector=false", "--set", "prediction_pictures=0", "--set", "tensorboard_pictures=0"]


def faulty_run(tiny_data, run, **faults):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **faults}
    proc = subprocess.run([*TORCHRUN, str(FAULTY), *tiny_args(tiny_data, run, *RUN)], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=300)  # a hang fails here, not after gloo's 30 minutes
    return proc, proc.stdout + proc.stderr


def assert_last_good_checkpoint(run):
    ckpt = load_checkpoint(run / "checkpoint.pt")
    assert ckpt["step"] == 2 and ckpt["epoch_complete"]  # the end of epoch 0, before the fault
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())


def test_a_nan_loss_on_one_rank_stops_both(tiny_data, tmp_path):
    run = tmp_path / "run"
    proc, text = faulty_run(tiny_data, run, NAN_LOSS_AT="1:3")  # rank 1, epoch 1's first step
    assert proc.returncode != 0
    message = "non-finite loss at epoch 1, step 2 (global) on rank 1: "
    assert f"[stopped] {message}" in text, text[-4000:]  # rank 0 prints it: it knows of rank 1's NaN
    assert text.count(f"error: {message}") == 2, text[-4000:]  # both ranks stop with it
    assert "loss_classifier=nan" in text
    assert_last_good_checkpoint(run)


def test_a_failed_checkpoint_write_on_rank_0_stops_both(tiny_data, tmp_path):
    run = tmp_path / "run"
    proc, text = faulty_run(tiny_data, run, FAIL_SAVE_AT="2")  # the end of epoch 1
    assert proc.returncode != 0
    message = "could not write the checkpoint of epoch 1, step 4: [Errno 28] No space left on device"
    assert f"error: {message}" in text, text[-4000:]  # rank 0
    assert f"error: rank 0: {message}" in text, text[-4000:]  # rank 1, told by rank 0
    assert_last_good_checkpoint(run)
