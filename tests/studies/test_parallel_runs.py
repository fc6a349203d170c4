"""The study's scheduler with cheap commands instead of training runs: side by side, the next
run as soon as one ends, failures reported, a stop signal passed on to the children.

No timing assertions: runs that must overlap wait for each other's marker files (and give up
with an error after a minute, so a serial scheduler fails instead of hanging)."""
import os
import subprocess
import signal
import sys
import threading
import time

import pytest

from hl_detect.studies.parallel_runs import Job, run_side_by_side

WAIT_FOR = """
import pathlib, sys, time
here, other = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
here.touch()
deadline = time.monotonic() + 60
while not other.exists():
    if time.monotonic() > deadline:
        sys.exit(9)  # never saw the other run: the two did not run side by side
    time.sleep(0.01)
"""

STOPPABLE = """
import pathlib, signal, sys, time
started, saved = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
def save(signum, frame):
    saved.write_text(str(signum))  # as the trainer writes its checkpoint
    sys.exit(128 + signum)
signal.signal(signal.SIGTERM, save)
started.touch()
time.sleep(120)
sys.exit(7)  # not stopped
"""


def job(tmp_path, name, *code_and_args):
    return Job(name, [sys.executable, "-c", *map(str, code_and_args)], tmp_path / name / "train.log", f"start {name}")


def test_runs_overlap_up_to_the_limit_and_a_failure_is_reported(tmp_path):
    a, b = tmp_path / "a.started", tmp_path / "b.started"
    jobs = [job(tmp_path, "a", WAIT_FOR, a, b), job(tmp_path, "b", WAIT_FOR, b, a),
            job(tmp_path, "bad", "import sys; print('boom'); sys.exit(3)"), job(tmp_path, "c", "pass")]
    said = []
    failed = run_side_by_side(jobs, parallel=2, say=said.append)
    assert failed == ["bad"]
    assert said[:2] == ["a: start a", "b: start b"]  # both at once: each waited for the other
    first_end = min(said.index("a: done"), said.index("b: done"))
    assert said.index("bad: start bad") > first_end  # a slot had to free up first
    assert f"bad: FAILED (exit 3, see {tmp_path / 'bad' / 'train.log'})" in said
    assert said.index("c: start c") > said.index("bad: start bad") and "c: done" in said
    assert len(said) == 8  # every run started once and ended once
    assert (tmp_path / "bad" / "train.log").read_text() == "boom\n"  # the run's output went to its log


def test_one_at_a_time_keeps_the_order(tmp_path):
    jobs = [job(tmp_path, name, "pass") for name in ("x", "y", "z")]
    said = []
    assert run_side_by_side(jobs, parallel=1, say=said.append) == []
    assert said == ["x: start x", "x: done", "y: start y", "y: done", "z: start z", "z: done"]


def test_a_log_is_appended_to_not_replaced(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "train.log").write_text("first try\n")
    run_side_by_side([job(tmp_path, "r", "print('resumed')")], parallel=1, say=lambda line: None)
    assert (tmp_path / "r" / "train.log").read_text() == "first try\nresumed\n"


def test_a_run_that_keeps_its_own_log_gives_the_tool_only_its_stderr(tmp_path):
    """train_det.py writes what it prints into its train.log itself: its stdout is dropped (not
    written twice) and stderr.log holds the warnings and tracebacks; a failure names both."""
    code = "import sys; print('to train.log by the run itself'); print('a traceback', file=sys.stderr); sys.exit(4)"
    own = Job("own", [sys.executable, "-c", code], tmp_path / "own" / "stderr.log", "start own",
              log_stdout=False, also_see=tmp_path / "own" / "train.log")
    said = []
    assert run_side_by_side([own], parallel=1, say=said.append) == ["own"]
    assert (tmp_path / "own" / "stderr.log").read_text() == "a traceback\n"
    assert said[-1] == f"own: FAILED (exit 4, see {tmp_path / 'own' / 'train.log'} and {tmp_path / 'own' / 'stderr.log'})"


def test_zero_slots_is_refused(tmp_path):
    with pytest.raises(ValueError, match="at least one"):
        run_side_by_side([job(tmp_path, "x", "pass")], parallel=0)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_stops_every_child_and_exits_non_zero(tmp_path, signum):
    jobs = [job(tmp_path, f"r{k}", STOPPABLE, tmp_path / f"r{k}.started", tmp_path / f"r{k}.saved") for k in range(2)]
    jobs.append(job(tmp_path, "later", "pass"))

    def signal_once_both_run():
        while not all((tmp_path / f"r{k}.started").exists() for k in range(2)):
            time.sleep(0.01)
        os.kill(os.getpid(), signum)  # what Ctrl-C or `kill` does to the tool

    said = []
    killer = threading.Thread(target=signal_once_both_run, daemon=True)
    killer.start()
    previous = signal.getsignal(signum)
    with pytest.raises(SystemExit) as stopped:
        run_side_by_side(jobs, parallel=2, say=said.append)
    killer.join()
    assert stopped.value.code == 128 + signum
    for k in range(2):  # each child got SIGTERM and "saved" before it ended
        assert (tmp_path / f"r{k}.saved").read_text() == str(int(signal.SIGTERM))
        assert f"r{k}: stopped (exit {128 + signal.SIGTERM}); the same command resumes it" in said
    assert "later: start later" not in said  # nothing new starts after the stop
    assert signal.getsignal(signum) == previous  # the tool's own handlers are back


def test_a_stop_signal_while_a_child_starts_still_stops_that_child(tmp_path, monkeypatch):
    """The signal lands between the fork and the child's registration: it is held until the
    child is registered, so the child is terminated too instead of training on unwatched."""
    import hl_detect.studies.parallel_runs as parallel_runs

    real_popen = subprocess.Popen

    def popen_then_signal(*args, **kwargs):
        proc = real_popen(*args, **kwargs)
        deadline = time.monotonic() + 60
        while not (tmp_path / "r.started").exists() and time.monotonic() < deadline:
            time.sleep(0.01)  # the child's SIGTERM handler is in place once it has started
        os.kill(os.getpid(), signal.SIGTERM)  # handled here, before the child is registered
        return proc

    monkeypatch.setattr(parallel_runs.subprocess, "Popen", popen_then_signal)
    said = []
    with pytest.raises(SystemExit) as stopped:
        run_side_by_side([job(tmp_path, "r", STOPPABLE, tmp_path / "r.started", tmp_path / "r.saved")], parallel=1,
                         say=said.append)
    assert stopped.value.code == 128 + signal.SIGTERM
    assert (tmp_path / "r.saved").read_text() == str(int(signal.SIGTERM))
    assert f"r: stopped (exit {128 + signal.SIGTERM}); the same command resumes it" in said


def test_runs_that_ended_before_the_stop_are_done_or_failed_not_stopped(tmp_path, monkeypatch):
    """The stop arrives after two runs ended but before the scheduler took their ends from its
    queue: the one that finished is "done", the one that failed "FAILED"; only the run still
    training is "stopped" (and to be resumed)."""
    import hl_detect.studies.parallel_runs as parallel_runs

    real_report, ended, lock, masks = parallel_runs._wait_then_report, [], threading.Lock(), []

    def stop_before_reporting(proc, finished):
        masks.append(signal.pthread_sigmask(signal.SIG_BLOCK, []))  # checked below, not here: a
        # failed assert in this thread would leave its run unreported and the scheduler waiting
        if proc.args[2] == STOPPABLE:
            return real_report(proc, finished)
        proc.wait()  # "quick" or "bad": ended, and held back from the scheduler's queue
        with lock:
            ended.append(proc)
            if len(ended) < 2:
                return
        while not (tmp_path / "r.started").exists():
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(parallel_runs, "_wait_then_report", stop_before_reporting)
    jobs = [job(tmp_path, "quick", "pass"), job(tmp_path, "bad", "import sys; sys.exit(3)"),
            job(tmp_path, "r", STOPPABLE, tmp_path / "r.started", tmp_path / "r.saved")]
    said = []
    with pytest.raises(SystemExit) as stopped:
        run_side_by_side(jobs, parallel=3, say=said.append)
    # the waiter threads block the stop signals, so the kernel hands the process-wide SIGTERM
    # above to the main thread (a waiter that took it would not wake the sleeping scheduler)
    assert len(masks) == 3 and all({signal.SIGINT, signal.SIGTERM} <= mask for mask in masks)
    assert stopped.value.code == 128 + signal.SIGTERM
    assert said[3:] == ["quick: done", f"bad: FAILED (exit 3, see {tmp_path / 'bad' / 'train.log'})",
                        f"r: stopped (exit {128 + signal.SIGTERM}); the same command resumes it"]


def test_a_stop_caught_by_another_thread_still_stops_the_sleeping_scheduler(tmp_path, monkeypatch):
    """Python runs signal handlers only in the main thread, and a signal that another thread
    takes does not wake the main thread's sleep: the scheduler must look at its pending
    signals now and then, or it would sleep on until some run ended (here after 120 s, as a
    "FAILED (exit 7)" instead of a stopped, resumable run)."""
    import hl_detect.studies.parallel_runs as parallel_runs

    monkeypatch.setattr(parallel_runs, "_WAKE_S", 0.1)

    def stop_from_this_thread():  # a thread that does not block SIGTERM takes it itself
        while not (tmp_path / "r.started").exists():
            time.sleep(0.01)
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)

    catcher = threading.Thread(target=stop_from_this_thread, daemon=True)
    catcher.start()
    said = []
    with pytest.raises(SystemExit) as stopped:
        run_side_by_side([job(tmp_path, "r", STOPPABLE, tmp_path / "r.started", tmp_path / "r.saved")], parallel=1,
                         say=said.append)
    catcher.join()
    assert stopped.value.code == 128 + signal.SIGTERM
    assert (tmp_path / "r.saved").read_text() == str(int(signal.SIGTERM))
    assert said[-1] == f"r: stopped (exit {128 + signal.SIGTERM}); the same command resumes it"
