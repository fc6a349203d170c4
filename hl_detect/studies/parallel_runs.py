"""A study's training runs side by side: N subprocesses at a time, the next one started as soon
as any ends, each with its own log file.

The scheduler sleeps until a run ends instead of polling each child: one thread per running
process blocks in ``wait()`` and hands the finished process to a queue that the main thread
blocks on. The main thread stays interruptible there: Ctrl-C (SIGINT) or a SIGTERM to the tool asks
every running child to stop with SIGTERM (the trainer then writes its resumable checkpoint),
waits for them, and exits with 128 + the signal, as a stopped training run does; the same
command resumes the study. A run that fails is reported and the others go on.
"""
from __future__ import annotations

import contextlib
import queue
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from ..signal_handlers import STOP_SIGNALS, handling


@dataclass(frozen=True)
class Job:
    name: str  # how messages name the run, e.g. "hl seed 0"
    command: list  # argv of the subprocess
    log: Path  # its stdout and stderr, appended (a resumed run adds to the same file)
    started: str = "started"  # said when it starts, e.g. "resuming in runs/x/hl/seed0"
    # False for a process that keeps its own log of what it prints (train_det.py's train.log):
    # its stdout is dropped and ``log`` gets only stderr (warnings, a traceback)
    log_stdout: bool = True
    also_see: Optional[Path] = None  # named with ``log`` when the run fails


class _Stop(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stop(signum, frame):
    """SIGINT and SIGTERM while the runs go on: _Stop in the main thread, wherever it waits.
    (SIGTERM's default would end the tool at once and leave its children training unseen.)"""
    raise _Stop(signum)


def _wait_then_report(proc: subprocess.Popen, finished: queue.SimpleQueue) -> None:
    proc.wait()
    finished.put(proc)


# The longest the main thread sleeps between two looks at its pending signals. Python runs a
# handler only in the main thread; a stop that the C-level handler caught just before the main
# thread entered its blocking wait would otherwise go unseen until some run ended (hours).
_WAKE_S = 2.0


@contextlib.contextmanager
def _stop_signals_blocked():
    """Block SIGINT/SIGTERM in this thread for the block; a thread started inside inherits the
    mask and keeps it. So the kernel never hands a stop meant for the whole process to a waiter
    thread, whose sleep in ``wait()`` it would not wake (the main thread would sleep on until a
    run ended); it goes to the main thread, whose wait it interrupts. A signal that arrives
    inside the block stays pending and is delivered when the block ends."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no signal masks to set
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _next_end(finished: queue.SimpleQueue) -> subprocess.Popen:
    """The next run to end, sleeping until then; a stop signal interrupts the sleep (as _Stop
    from the handler)."""
    while True:
        try:
            return finished.get(timeout=_WAKE_S)
        except queue.Empty:
            continue


def run_side_by_side(jobs: list[Job], parallel: int, env: Optional[dict] = None,
                     say: Callable[[str], None] = print) -> list[str]:
    """Run ``jobs`` in order, at most ``parallel`` at a time; return the names of those that
    failed (non-zero exit). ``say`` gets one line per start and per end."""
    if parallel < 1:
        raise ValueError(f"parallel={parallel}: at least one run at a time")
    pending, running, failed = list(jobs), {}, []
    finished: queue.SimpleQueue = queue.SimpleQueue()
    # a stop signal while a child is being started waits until it is registered, so _stop_all
    # sees every child (raised at once, it could leave one training unwatched)
    starting, deferred = [False], []

    def stop(signum, frame):
        if starting[0]:
            deferred.append(signum)
        else:
            _raise_stop(signum, frame)

    with handling(stop):
        try:
            while pending or running:
                while pending and len(running) < parallel:
                    job = pending.pop(0)
                    say(f"{job.name}: {job.started}")
                    job.log.parent.mkdir(parents=True, exist_ok=True)
                    starting[0] = True
                    try:
                        with open(job.log, "a") as log:  # the child keeps its own descriptor
                            stdout = log if job.log_stdout else subprocess.DEVNULL
                            stderr = subprocess.STDOUT if job.log_stdout else log
                            proc = subprocess.Popen(job.command, stdout=stdout, stderr=stderr, env=env)
                        running[proc] = job
                        with _stop_signals_blocked():
                            threading.Thread(target=_wait_then_report, args=(proc, finished), daemon=True).start()
                    finally:
                        starting[0] = False
                    if deferred:
                        raise _Stop(deferred[0])
                proc = _next_end(finished)
                job = running.pop(proc)
                if _say_end(job, proc, say):
                    failed.append(job.name)
        except _Stop as stop:
            _stop_all(running, say)
            raise SystemExit(128 + stop.signum) from None
        except BaseException:  # the tool's own error: no run trains on unwatched
            _stop_all(running, say)
            raise
    return failed


def _say_end(job: Job, proc: subprocess.Popen, say: Callable[[str], None]) -> bool:
    """Say how ``job`` ended on its own, done or FAILED; True when it failed."""
    if proc.returncode:
        see = f"{job.also_see} and {job.log}" if job.also_see else f"{job.log}"
        say(f"{job.name}: FAILED (exit {proc.returncode}, see {see})")
        return True
    say(f"{job.name}: done")
    return False


def _stop_all(running: dict, say: Callable[[str], None]) -> None:
    """SIGTERM to every running child, then wait for each to write its checkpoint and exit.
    (Children in the terminal's process group got a Ctrl-C themselves too; the trainer takes
    a repeated stop signal as the same request.) Another Ctrl-C leaves without waiting: the
    children still stop at their next step and save on their own.

    A child that had ended before the stop (its end not yet taken from the queue) was not
    stopped, and one that exits 0 had finished its training: both are said as ended on their
    own (done, or FAILED), so a finished run is not reported as one to resume."""
    try:
        ended = {proc for proc in running if proc.poll() is not None}
        for proc in running:
            if proc not in ended:
                proc.terminate()
        for proc, job in running.items():
            proc.wait()
            if proc in ended or proc.returncode == 0:
                _say_end(job, proc, say)
            else:
                say(f"{job.name}: stopped (exit {proc.returncode}); the same command resumes it")
    except _Stop:
        say("not waiting for the runs to stop; each still saves its checkpoint at its next step")
