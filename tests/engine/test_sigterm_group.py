"""SIGTERM to the whole job (a scheduler's pre-emption, ``pkill -f train_det.py``) or Ctrl-C
reaches the loader workers too: the run must still stop at the end of a step with a resumable
checkpoint, not fail in ``next(loader)`` because a worker died first. Before the rule in
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
from hl_detect.engine.worker_signals import leave_stop_signals_to_parent
from state_compare import assert_same_run
from tiny_runs import REPO, run_tool, tiny_args

needs_sigwaitinfo = pytest.mark.skipif(not hasattr(signal, "sigwaitinfo") or not hasattr(os, "killpg"),
                                       reason="the rule needs sigwaitinfo and process groups (Linux)")


@needs_sigwaitinfo
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_process_group_saves_the_step(tiny_data, tmp_path, signum):
    """pkill / scancel (SIGTERM) and Ctrl-C in a terminal (SIGINT) reach the loader worker too."""
    run = tmp_path / "run"
    # batch 1: 8 steps per epoch, one worker, a periodic checkpoint every 2 steps only: the step
    # saved at the signal is past it, with room for a slow test machine before the epoch ends
    args = tiny_args(tiny_data, run, "--set", "data.workers=1", "--set", "threads=1", "--set", "epochs=3",
                     "--set", "batch_size=1", "--set", "max_steps_per_epoch=null", "--set", "eval_every=100",
                     "--set", "checkpoint_every_steps=2", "--set", "prediction_pictures=0")
    proc = subprocess.Popen([sys.executable, str(REPO / "tools" / "train_det.py"), *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    log = []
    for line in proc.stdout:
        log.append(line)
        if re.match(r"\[checkpoint\] step 2\b", line):
            os.killpg(proc.pid, signum)  # the trainer and its worker alike
            break
    log.append(proc.stdout.read())
    proc.wait(timeout=120)
    text = "".join(log)
    assert proc.returncode == 128 + signum, text[-3000:]
    assert f"[interrupted] signal {int(signum)}: saved a resumable checkpoint" in text
    assert "Traceback" not in text
    ckpt = load_checkpoint(run / "checkpoint.pt")
    assert ckpt["step"] >= 3 and not ckpt["epoch_complete"]  # the step in flight, not the periodic one


TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
# 8 images, 2 ranks x batch 2: 2 steps per epoch; the ranks agree on a stop at steps 3, 6, ...
# (log_every also sets when the gradient ratio is logged, so the reference uses it too)
DDP_RUN = ["--device", "cpu", "--set", "data.workers=1", "--set", "threads=1", "--set", "epochs=4", "--set", "log_every=3",
           "--set", "eval_every=100", "--set", "data.aspect_ratio_group_factor=0",
           "--set", "eval_coco=false", "--set", "projector=false", "--set", "prediction_pictures=0",
           "--set", "tensorboard_pictures=0"]


@pytest.fixture(scope="module")
def unbroken_ddp_run(tiny_data, tmp_path_factory):
    run = tmp_path_factory.mktemp("ddp") / "reference"
    run_tool("train_det.py", *tiny_args(tiny_data, run, *DDP_RUN), launcher=TORCHRUN)
    return load_checkpoint(run / "checkpoint.pt")


@pytest.mark.slow
@needs_sigwaitinfo
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_under_torchrun_stops_every_rank_at_one_step_and_resumes_exactly(
        tiny_data, tmp_path, unbroken_ddp_run, signum):
    """torchrun forwards the signal to every rank's process group (workers included): all ranks
    stop at the same agreed step (the loader workers must outlive the signal until then), the
    checkpoint holds both ranks' random state, and the resumed run ends bit-identical to an
    unbroken one."""
    run = tmp_path / "run"
    args = tiny_args(tiny_data, run, *DDP_RUN)
    proc = subprocess.Popen([*TORCHRUN, str(REPO / "tools" / "train_det.py"), *args],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    log = []
    for line in proc.stdout:
        log.append(line)
        if line.startswith("[epoch 0]"):
            os.killpg(proc.pid, signum)  # torchrun, which passes it on to both ranks' groups
            break
    log.append(proc.stdout.read())
    proc.wait(timeout=120)
    text = "".join(log)
    assert f"[interrupted] signal {int(signum)}: saved a resumable checkpoint" in text, text[-3000:]
    assert "exited unexpectedly" not in text and "killed by signal" not in text, text[-3000:]
    stopped = load_checkpoint(run / "checkpoint.pt")
    assert 2 <= stopped["step"] < 8, text[-3000:]
    assert len(stopped["rng"]) == 2 and all(state is not None for state in stopped["rng"])

    resumed = run_tool("train_det.py", "--resume", run, "--no-progress", launcher=TORCHRUN)
    assert "[resume]" in resumed.stdout and "not bit for bit" not in resumed.stdout
    assert_same_run(load_checkpoint(run / "checkpoint.pt"), unbroken_ddp_run)


def _worker_like(ready):
    leave_stop_signals_to_parent()
    ready.set()
    while True:
        time.sleep(0.05)


@needs_sigwaitinfo
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_a_worker_ignores_foreign_signals_and_obeys_its_parent(method):
    context = multiprocessing.get_context(method)
    ready = context.Event()
    worker = context.Process(target=_worker_like, args=(ready,), daemon=True)
    worker.start()
    try:
        assert ready.wait(60)
        # sent by another process (kill(1)), as a scheduler, pkill or a terminal would: ignored
        for name in ("TERM", "INT"):
            subprocess.run(["kill", f"-{name}", str(worker.pid)], check=True)
        worker.join(1.0)
        assert worker.is_alive()
        if method == "fork":  # torch's default on Linux: one thread, the sender is always known
            # sent by the process that started it, as DataLoader's shutdown terminate() does:
            # the worker ends at once
            worker.terminate()
            worker.join(30)
            assert worker.exitcode == 0
    finally:
        if worker.is_alive():
            worker.kill()


def test_the_rule_reports_where_it_cannot_hold(monkeypatch):
    previous = signal.getsignal(signal.SIGINT)
    monkeypatch.delattr(signal, "sigwaitinfo", raising=False)
    try:
        assert leave_stop_signals_to_parent() is False  # torch's own SIGTERM handler stays in charge
    finally:
        signal.signal(signal.SIGINT, previous)  # this is pytest's process, not a worker
