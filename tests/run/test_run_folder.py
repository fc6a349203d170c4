"""One run per run folder, and a fresh run never overwrites an old one (issue 24, item 2);
dead writers' temporary files are cleared at the next start (item 8). Before, a fresh run
into a folder with a checkpoint replaced it, and two runs into one folder wrote over each
other."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from hl_detect.run.run_folder import RunFolderError, claim_run_folder, lock_run_folder
from tiny_runs import REPO, run_tool, tiny_args


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid  # not running any more (pid reuse within the test: practically never)


def test_a_fresh_run_into_a_folder_with_a_checkpoint_is_refused(tiny_data, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(b"an old run's checkpoint")
    proc = run_tool("train_det.py", *tiny_args(tiny_data, run, "--epochs", "1"), check=False, timeout=120)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"error: {run} already holds a run's checkpoint" in proc.stderr
    assert f"next step: continue it with --resume {run}, or start over with --overwrite" in proc.stderr
    assert (run / "checkpoint.pt").read_bytes() == b"an old run's checkpoint"

    both = run_tool("train_det.py", *tiny_args(tiny_data, run, "--resume", run, "--overwrite"), check=False, timeout=120)
    assert both.returncode == 2 and "give one of them" in both.stderr


def test_overwrite_deletes_the_old_runs_files_and_nothing_else(tmp_path):
    run = tmp_path / "run"
    for name in ("checkpoint.pt", "config.yaml", "metrics.json", "eval.csv", "eval.json", "eval_test.json",
                 "checkout_thresholds.json", "tb/events.out.tfevents.1", "epochs/epoch_000.pt", "notes.txt"):
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_text("old")
    said = []
    claim_run_folder(run, resume=False, overwrite=True, say=said.append).release()
    assert sorted(p.name for p in run.iterdir()) == [".lock", "notes.txt"]
    assert said == ["[run] --overwrite: deleted the old run's checkout_thresholds.json, checkpoint.pt, config.yaml, "
                    "epochs, eval.csv, eval.json, eval_test.json, metrics.json, tb"]


def test_a_second_run_into_a_locked_folder_is_refused_naming_the_holder(tmp_path):
    run = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from hl_detect.run.run_folder import lock_run_folder
        lock_run_folder(__import__("pathlib").Path({str(run)!r}))
        print("locked", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunFolderError, match=rf"in use by pid {holder.pid} on host .* \(started "):
            claim_run_folder(run, resume=True, overwrite=False)
    finally:
        holder.kill()
        holder.wait()
    # its process gone, the kernel has dropped its lock: the folder is free, the dead holder named
    said = []
    claim_run_folder(run, resume=True, overwrite=False, say=said.append).release()
    assert len(said) == 1
    assert said[0].startswith(f"[run] took over the stale lock of pid {holder.pid} on host ")
    assert said[0].endswith("which is no longer running")


def test_the_same_process_cannot_take_a_folder_twice(tmp_path):
    first = lock_run_folder(tmp_path)
    try:
        with pytest.raises(RunFolderError, match=f"in use by pid {os.getpid()}"):
            lock_run_folder(tmp_path)
    finally:
        first.release()
    lock_run_folder(tmp_path).release()  # free again, and nothing stale to report


def test_a_run_that_wrote_nothing_leaves_no_folder_but_keeps_one_that_was_there(tmp_path):
    """A run stopped before its first file (its dataset missing, say) left a folder holding
    only .lock; the folder is gone when it made it, kept (without .lock) when it was given."""
    made = tmp_path / "runs" / "voc0712_seed0"
    lock_run_folder(made).release()
    assert not made.exists() and (tmp_path / "runs").is_dir()
    given = tmp_path / "mine"
    given.mkdir()
    lock_run_folder(given).release()
    assert given.is_dir() and (given / ".lock").read_text() == ""
    written = tmp_path / "written"
    lock = lock_run_folder(written)
    (written / "config.yaml").write_text("seed: 0\n")
    lock.release()
    assert sorted(p.name for p in written.iterdir()) == [".lock", "config.yaml"]


def test_a_lock_file_removed_while_it_is_taken_is_taken_again(tmp_path, monkeypatch):
    """Another run that made the folder and wrote nothing removes .lock (and the folder) as it
    ends; a lock taken on the removed file would exclude nobody, so it is taken again on the
    file that is there."""
    import fcntl

    import hl_detect.run.run_folder as run_folder

    real_lockf, calls = fcntl.lockf, []

    def lockf_while_the_other_run_tidies(fd, operation):
        if operation & fcntl.LOCK_EX and not calls:
            calls.append(fd)
            os.unlink(tmp_path / "run" / ".lock")
            os.rmdir(tmp_path / "run")
        return real_lockf(fd, operation)

    monkeypatch.setattr(run_folder.fcntl, "lockf", lockf_while_the_other_run_tidies)
    lock = lock_run_folder(tmp_path / "run")
    try:
        assert calls and os.fstat(lock.fd).st_ino == os.stat(tmp_path / "run" / ".lock").st_ino
    finally:
        lock.release()


def test_a_stale_lock_file_of_a_dead_run_is_named_and_taken_over(tmp_path):
    pid = dead_pid()
    (tmp_path / ".lock").write_text(json.dumps({"pid": pid, "host": "node7", "started": "2026-12-01 10:00:00 UTC"}))
    said = []
    lock = lock_run_folder(tmp_path, say=said.append)
    assert said == [f"[run] took over the stale lock of pid {pid} on host node7 (started 2026-12-01 10:00:00 UTC), "
                    "which is no longer running"]
    assert json.loads((tmp_path / ".lock").read_text())["pid"] == os.getpid()
    lock.release()


def test_temporary_files_of_dead_writers_are_removed_at_the_next_start(tmp_path):
    run = tmp_path / "run"
    (run / "epochs").mkdir(parents=True)
    dead, alive = dead_pid(), os.getpid()
    stale = [run / f".checkpoint.pt.{dead}.k2j3h4_x.tmp", run / "epochs" / f".epoch_001.pt.{dead}.abcdefgh.tmp"]
    live = run / f".eval_test.json.{alive}.zzzzzzzz.tmp"  # e.g. eval_det writing there right now
    for path in (*stale, live):
        path.write_bytes(b"half a file")
    said = []
    claim_run_folder(run, resume=True, overwrite=False, say=said.append).release()
    assert not any(p.exists() for p in stale) and live.exists()
    assert said == [f"[run] removed {p.name}, the temporary file of a write that did not finish" for p in stale]


def test_a_forked_child_of_a_killed_run_does_not_keep_its_folder_locked(tmp_path):
    """A loader worker forked by a run outlives a ``kill -9`` of the run for a while; it must not
    hold the run folder (it did with flock: test_exact_resume's resume after SIGKILL was refused)."""
    import signal

    run = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(REPO)!r})
        from hl_detect.run.run_folder import lock_run_folder
        lock_run_folder(__import__("pathlib").Path({str(run)!r}))
        child = os.fork()
        if child == 0:
            time.sleep(60)
            os._exit(0)
        print(child, flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    child = int(holder.stdout.readline())
    try:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        os.kill(child, 0)  # the "worker" is still alive
        said = []
        claim_run_folder(run, resume=True, overwrite=False, say=said.append).release()
        assert said[0].startswith(f"[run] took over the stale lock of pid {holder.pid} ")
    finally:
        os.kill(child, signal.SIGKILL)
