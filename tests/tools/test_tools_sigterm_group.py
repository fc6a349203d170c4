"""SIGTERM to the whole job (a scheduler's pre-emption, ``pkill -f train_det.py``) reaches the
loader workers too: the run must still stop at the end of a step with a resumable checkpoint,
not fail in ``next(loader)`` because a worker died first. Before the rule in
hl_detect/engine/worker_signals.py this run ended with exit code 1 and a ConnectionResetError."""
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from hl_detect.engine import load_checkpoint
from hl_detect.engine.worker_signals import ignore_foreign_sigterm
from state_compare import assert_same_run
from tiny_runs import REPO, run_tool, tiny_args

needs_sigwaitinfo = pytest.mark.skipif(not hasattr(signal, "sigwaitinfo") or not hasattr(os, "killpg"),
                                       reason="the rule needs sigwaitinfo and process groups (Linux)")


@needs_sigwaitinfo
def test_sigterm_to_the_process_group_saves_the_step_and_exits_143(tiny_data, tmp_path):
    run = tmp_path / "run"
    # one worker, a periodic checkpoint every 2 steps only: the step saved at the signal is past it
    args = tiny_args(tiny_data, run, "--set", "data.workers=1", "--set", "threads=1", "--set", "epochs=3",
                     "--set", "max_steps_per_epoch=4", "--set", "eval_every=100", "--set", "checkpoint_every_steps=2",
                     "--set", "prediction_pictures=0")
    proc = subprocess.Popen([sys.executable, str(REPO / "tools" / "train_det.py"), *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    log = []
    for line in proc.stdout:
        log.append(line)
        if re.match(r"\[checkpoint\] step 2\b", line):
            os.killpg(proc.pid, signal.SIGTERM)  # the trainer and its worker alike
            break
    log.append(proc.stdout.read())
    proc.wait(timeout=120)
    text = "".join(log)
    assert proc.returncode == 128 + signal.SIGTERM, text[-3000:]
    assert "[interrupted] signal 15: saved a resumable checkpoint" in text
    assert "Traceback" not in text
    ckpt = load_checkpoint(run / "checkpoint.pt")
    assert ckpt["step"] >= 3 and not ckpt["epoch_complete"]  # the step in flight, not the periodic one


TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
# 8 images, 2 ranks x batch 2: 2 steps per epoch; ranks agree on stops every step (log_every=1)
DDP_RUN = ["--device", "cpu", "--set", "data.workers=1", "--set", "threads=1", "--set", "epochs=4",
           "--set", "log_every=1", "--set", "eval_every=100", "--set", "data.aspect_ratio_group_factor=0",
           "--set", "eval_coco=false", "--set", "projector=false", "--set", "prediction_pictures=0",
           "--set", "tensorboard_pictures=0"]


@needs_sigwaitinfo
def test_sigterm_under_torchrun_stops_every_rank_at_one_step_and_resumes_exactly(tiny_data, tmp_path):
    """torchrun forwards SIGTERM to every rank: all ranks stop at the same step, the checkpoint
    holds both ranks' random state, and the resumed run ends bit-identical to an unbroken one."""
    reference, run = tmp_path / "reference", tmp_path / "run"
    run_tool("train_det.py", *tiny_args(tiny_data, reference, *DDP_RUN), launcher=TORCHRUN)

    proc = subprocess.Popen([*TORCHRUN, str(REPO / "tools" / "train_det.py"), *tiny_args(tiny_data, run, *DDP_RUN)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    log = []
    for line in proc.stdout:
        log.append(line)
        if line.startswith("[epoch 0]"):
            os.killpg(proc.pid, signal.SIGTERM)  # torchrun, both ranks and their loader workers
            break
    log.append(proc.stdout.read())
    proc.wait(timeout=120)
    text = "".join(log)
    assert "[interrupted] signal 15: saved a resumable checkpoint" in text, text[-3000:]
    stopped = load_checkpoint(run / "checkpoint.pt")
    assert 2 <= stopped["step"] < 8, text[-3000:]
    assert len(stopped["rng"]) == 2 and all(state is not None for state in stopped["rng"])

    resumed = run_tool("train_det.py", "--resume", run, "--no-progress", launcher=TORCHRUN)
    assert "[resume]" in resumed.stdout and "not bit for bit" not in resumed.stdout
    assert_same_run(load_checkpoint(run / "checkpoint.pt"), load_checkpoint(reference / "checkpoint.pt"))


def _worker_like(ready):
    ignore_foreign_sigterm()
    ready.set()
    while True:
        time.sleep(0.05)


@needs_sigwaitinfo
def test_a_worker_ignores_a_foreign_sigterm_and_obeys_its_parent():
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    worker = context.Process(target=_worker_like, args=(ready,), daemon=True)
    worker.start()
    try:
        assert ready.wait(30)
        # sent by another process (kill(1)), as a scheduler or pkill would: ignored
        subprocess.run(["kill", "-TERM", str(worker.pid)], check=True)
        worker.join(1.0)
        assert worker.is_alive()
        # sent by the parent, as DataLoader's shutdown terminate() does: the worker ends at once
        worker.terminate()
        worker.join(30)
        assert worker.exitcode == 0
    finally:
        if worker.is_alive():
            worker.kill()


def test_the_rule_reports_where_it_cannot_hold(monkeypatch):
    monkeypatch.delattr(signal, "sigwaitinfo", raising=False)
    assert ignore_foreign_sigterm() is False  # torch's own handler stays in charge
