"""Exact resume: a run killed with SIGKILL (twice) and resumed ends with the very weights, HL
centers, optimizer state and random state of the run that was never stopped; a checkpoint
whose write is interrupted leaves the previous one loadable."""
import os
import random
import re
import signal
import subprocess
import sys

import pytest
import torch

import hl_detect.engine.checkpoint as checkpoint_module
from hl_detect.engine import load_checkpoint
from hl_detect.run.train import run_training
from state_compare import assert_same_run
from tiny_runs import REPO, tiny_args, tiny_config

pytestmark = pytest.mark.slow  # whole runs of the tools, in subprocesses

# 3 epochs x 3 steps (of 4 batches: max_steps_per_epoch cuts them), HL warm start for the first
# epoch, an lr warm-up over 4 steps, grouped batches, one loader worker, evaluations at epochs 1
# and 2, a checkpoint after every step
RUN = ["epochs=3", "max_steps_per_epoch=3", "warmup_epochs=1", "lr_warmup_iters=4", "eval_every=2",
       "data.aspect_ratio_group_factor=0", "data.workers=1", "threads=1", "checkpoint_every_steps=1",
       "eval_coco=false", "projector=false", "prediction_pictures=0", "tensorboard_pictures=0"]
TOTAL_STEPS = 9
EPOCH_ENDS = {3, 6, 9}


def train_until_killed(args, kill_at: int):
    """Run train_det; SIGKILL it once it has written the checkpoint of a step >= kill_at."""
    command = [sys.executable, str(REPO / "tools" / "train_det.py"), *map(str, args)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO, env=env)
    log = []
    for line in proc.stdout:
        log.append(line)
        saved = re.match(r"\[checkpoint\] step (\d+)", line)
        if saved and int(saved.group(1)) >= kill_at:
            os.kill(proc.pid, signal.SIGKILL)  # no handler runs, nothing is flushed
            break
    proc.stdout.close()
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"the run ended before step {kill_at}:\n{''.join(log)[-3000:]}"
    return "".join(log)


def test_sigkill_twice_then_resume_equals_uninterrupted_run(tiny_data, tmp_path):
    reference = tmp_path / "reference"
    run_training(tiny_config(tiny_data, reference, *RUN), progress=False)

    run = tmp_path / "killed"
    rng = random.Random(13)
    first_kill = rng.randint(1, 4)
    train_until_killed(tiny_args(tiny_data, run, *[a for o in RUN for a in ("--set", o)]), first_kill)
    saved = load_checkpoint(run / "checkpoint.pt")["step"]  # the kill left a loadable checkpoint
    assert saved >= first_kill

    second_kill = max(rng.randint(5, TOTAL_STEPS - 1), saved + 1)
    second_kill += second_kill in EPOCH_ENDS  # epoch ends save without a [checkpoint] line
    log = train_until_killed(["--resume", run, "--no-progress"], second_kill)
    assert re.search(r"\[resume\] .*checkpoint.pt: epoch \d, step \d \(\+\d batches done\)", log)  # mid-epoch
    assert load_checkpoint(run / "checkpoint.pt")["step"] >= second_kill

    final = subprocess.run([sys.executable, str(REPO / "tools" / "train_det.py"), "--resume", str(run), "--no-progress"],
                           capture_output=True, text=True, cwd=REPO, timeout=120)
    assert final.returncode == 0, final.stdout[-3000:] + final.stderr[-3000:]
    assert re.search(r"\[resume\] .* \(\+\d batches done\)", final.stdout) and "[resume] note" not in final.stdout

    ours, theirs = load_checkpoint(run / "checkpoint.pt"), load_checkpoint(reference / "checkpoint.pt")
    assert ours["step"] == TOTAL_STEPS and ours["epoch_complete"]
    assert ours["model"]["roi_heads.cls_loss.num_updates"].item() == TOTAL_STEPS - 3  # HL updated after its warm start
    assert_same_run(ours, theirs)  # model (HL centers, N_c), optimizer, schedulers, rng, history, train_log
    # --no-progress: one line per epoch with loss, lr, speed, and the evaluation where one ran
    epoch_2 = next(line for line in final.stdout.splitlines() if line.startswith("[epoch 2]"))
    assert "lr=" in epoch_2 and "img/s" in epoch_2 and "AP@0.5 (area)" in epoch_2


def test_interrupted_checkpoint_write_keeps_last_good_one_and_resumes_exactly(tiny_data, tmp_path, monkeypatch):
    reference = tmp_path / "reference"
    run_training(tiny_config(tiny_data, reference, *RUN, "data.workers=0"), progress=False)

    run = tmp_path / "run"
    cfg = tiny_config(tiny_data, run, *RUN, "data.workers=0", "checkpoint_every_steps=0", "checkpoint_every_minutes=1e-9")
    real_save, calls = torch.save, []

    def save_dies_on_fifth_write(obj, handle, *args, **kwargs):
        calls.append(obj["step"])
        if len(calls) == 5:  # killed half-way through writing the checkpoint of step 5
            handle.write(b"the first bytes of a checkpoint")
            raise KeyboardInterrupt
        return real_save(obj, handle, *args, **kwargs)

    monkeypatch.setattr(checkpoint_module.torch, "save", save_dies_on_fifth_write)
    with pytest.raises(KeyboardInterrupt):
        run_training(cfg, progress=False)
    monkeypatch.setattr(checkpoint_module.torch, "save", real_save)
    assert calls == [1, 2, 3, 4, 5]  # a minute-based schedule of ~0 min: a checkpoint after every step
    # no torn temp file (.lock: the run folder's lock, run/run_folder.py; train.log: the console, appended line by line)
    assert sorted(p.name for p in run.iterdir()) == [".lock", "checkpoint.pt", "config.yaml", "tb", "train.log"]
    assert load_checkpoint(run / "checkpoint.pt")["step"] == 4

    run_training(cfg, resume=str(run), progress=False)
    assert_same_run(load_checkpoint(run / "checkpoint.pt"), load_checkpoint(reference / "checkpoint.pt"))


def test_checkpoint_without_random_state_resumes_with_a_note(tiny_data, tmp_path, capsys):
    run = tmp_path / "run"
    cfg = tiny_config(tiny_data, run, "epochs=2", "max_steps_per_epoch=1", "data.workers=0", "eval_every=5",
                      "eval_coco=false", "projector=false", "prediction_pictures=0", "tensorboard_pictures=0")
    run_training({**cfg, "epochs": 1}, progress=False)
    ckpt = load_checkpoint(run / "checkpoint.pt")
    for key in ("rng", "data_order", "epoch_stats"):  # as an older hl_detect wrote it
        del ckpt[key]
    torch.save(ckpt, run / "checkpoint.pt")
    capsys.readouterr()
    run_training(cfg, resume=str(run), progress=False)
    out = capsys.readouterr().out
    assert "[resume] note: the checkpoint holds no random state" in out
    assert load_checkpoint(run / "checkpoint.pt")["step"] == 2
