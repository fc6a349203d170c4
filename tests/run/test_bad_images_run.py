"""A training run with a corrupt JPEG, a truncated PNG and a zero-byte file in the middle of
its training set: it finishes, names each file in the log, and records the counts in
metrics.json and TensorBoard; with the default limit (1 % of 8 images = 0) it stops at
once with a clear error."""
import json
import shutil
import sys
from pathlib import Path

import pytest

from tiny_runs import run_tool, tiny_args

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from data_helpers import break_image  # noqa: E402

# the VOC layout names every image .jpg; PIL reads a file by its content, so 000004 is a PNG
BROKEN = {"000003.jpg": "corrupt-jpeg", "000004.jpg": "truncated-png", "000005.jpg": "zero-byte"}


def damaged_copy(tiny_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    for name, how in BROKEN.items():
        break_image(data / "JPEGImages" / name, how)
    return data


def test_run_survives_bad_images_and_counts_them(tiny_data, tmp_path):
    from tensorboard_events import tensorboard_tags

    data, run = damaged_copy(tiny_data, tmp_path), tmp_path / "run"
    # batch 1, whole epoch: every training image is drawn once
    proc = run_tool("train_det.py", *tiny_args(data, run, "--epochs", "1", "--set", "batch_size=1",
                                               "--set", "max_steps_per_epoch=null", "--set", "data.max_bad_images=3"))
    out = proc.stdout
    assert "[data] train: 7 of 8 images; at load time: 1 image skipped (unreadable image)" in out
    skipped = [line for line in out.splitlines() if "skipped unreadable image" in line]
    assert len(skipped) == 2 and "000003.jpg" in out and "000004.jpg" in out
    assert "[data] train: 1 unusable at load: " in out and "000005.jpg" in out
    assert "[done] AP@0.5" in out
    counts = json.loads((run / "metrics.json").read_text())["bad_images"]["train"]
    assert (counts["bad_images"], counts["at_load"], counts["while_running"], counts["of"]) == (3, 1, 2, 8)
    assert sorted(Path(f).name for f in counts["files"]) == sorted(BROKEN)
    assert "data/bad_images_train" in tensorboard_tags(run / "tb")["scalars"]
    import torch  # the checkpoint carries them, so a resumed run keeps counting from here
    ckpt = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)
    assert sorted(Path(f).name for f in ckpt["stateful"]["bad_images_train"]["files"]) == sorted(BROKEN)


def test_default_limit_stops_before_training(tiny_data, tmp_path):
    data, run = damaged_copy(tiny_data, tmp_path), tmp_path / "run"
    proc = run_tool("train_det.py", *tiny_args(data, run, "--epochs", "1"), check=False)
    assert proc.returncode == 2
    assert "1 of 8 images of the train split cannot be used, more than max_bad_images allows (0)" in proc.stderr
    assert "000005.jpg" in proc.stderr and not (run / "checkpoint.pt").exists()


TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]


@pytest.mark.slow
def test_ddp_counts_every_ranks_bad_images(tiny_data, tmp_path):
    """Two gloo ranks, each reading its own shard: the counts, metrics.json and the checkpoint
    hold the bad files of both shards, as the one-process run above does."""
    data, run = damaged_copy(tiny_data, tmp_path), tmp_path / "run"
    run_tool("train_det.py", *tiny_args(data, run, "--epochs", "1", "--device", "cpu", "--set", "batch_size=1",
                                        "--set", "max_steps_per_epoch=null", "--set", "data.max_bad_images=3"),
             launcher=TORCHRUN)
    counts = json.loads((run / "metrics.json").read_text())["bad_images"]["train"]
    assert (counts["bad_images"], counts["at_load"], counts["while_running"], counts["of"]) == (3, 1, 2, 8)
    import torch
    ckpt = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)
    assert sorted(Path(f).name for f in ckpt["stateful"]["bad_images_train"]["files"]) == sorted(BROKEN)


@pytest.mark.slow
def test_ddp_limit_stops_every_rank_together(tiny_data, tmp_path):
    """Past the limit under DDP every rank stops at the same checkpoint with the clear error
    (not one rank alone mid-step, leaving the other waiting in a collective), after the
    checkpoint is written, and a resume says so at once."""
    data, run = damaged_copy(tiny_data, tmp_path), tmp_path / "run"
    args = tiny_args(data, run, "--epochs", "2", "--device", "cpu", "--set", "batch_size=1",
                     "--set", "max_steps_per_epoch=null", "--set", "data.max_bad_images=2")
    proc = run_tool("train_det.py", *args, launcher=TORCHRUN, check=False, timeout=240)
    assert proc.returncode != 0
    message = "3 of 8 images of the train split cannot be used, more than max_bad_images allows (2)"
    assert proc.stderr.count(message) + proc.stdout.count(message) >= 2, proc.stderr[-3000:]  # both ranks
    import torch
    ckpt = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)
    assert ckpt["epoch"] == 0 and ckpt["epoch_complete"]  # epoch 0 is saved; epoch 1 never started
    resumed = run_tool("train_det.py", "--resume", run, "--no-progress", check=False)
    assert resumed.returncode == 2 and message in resumed.stderr
