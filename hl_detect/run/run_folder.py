"""A run folder belongs to one run at a time, and a fresh run never overwrites another's work.

``claim_run_folder`` (rank 0, at the start of ``run_training``):

* takes an exclusive lock on ``<run>/.lock`` for the whole run and writes its pid, host and
  start time into it. A second run into the folder is refused, naming the holder. The kernel
  drops the lock when its process dies, however it dies; a lock file that still names a
  process then is a dead run's, and the new run says so and takes it over. A POSIX record
  lock (``lockf``), not ``flock``: a forked loader worker inherits an flock, and one that
  outlives a killed run would keep its folder locked; a record lock belongs to the process
  alone (which also holds it against NFS clients on other hosts). Record locks do not
  exclude the same process, so a process keeps its own list (``_HELD``).
* removes the temporary files of writers that died mid-write (hl_detect/atomic_files.py);
* refuses a fresh run (no ``--resume``) into a folder that holds a checkpoint: its files
  would be replaced, its TensorBoard events mixed with the new run's. ``overwrite`` deletes
  the old run's files first (``OLD_RUN_FILES``), nothing else in the folder.
"""
from __future__ import annotations

import datetime
import fcntl
import json
import os
import shutil
import socket
from pathlib import Path
from typing import Callable, Optional

from ..atomic_files import remove_stale_temp_files
from ..engine import CHECKPOINT
from ..engine.trainer import EPOCH_CHECKPOINTS
from ..errors import UserError
from .console_log import TRAIN_LOG
from .run_figures import CONFUSION_PNG, LEARNING_CURVE_PNG

LOCK = ".lock"
# what a run writes (a fresh run would replace it): files, globs, folders
OLD_RUN_FILES = (CHECKPOINT, "config.yaml", "metrics.json", "eval.*", "eval_*.csv", "eval_*.json",
                 "checkout_thresholds.json", TRAIN_LOG, CONFUSION_PNG, LEARNING_CURVE_PNG)
OLD_RUN_FOLDERS = ("tb", EPOCH_CHECKPOINTS, "predictions")


class RunFolderError(UserError):
    """The run folder is in use, or holds a run that a fresh start would overwrite."""


_HELD: dict[Path, str] = {}  # run folders this process has locked -> the holder text


class RunFolderLock:
    """The open, locked ``.lock`` of a run folder; ``release`` (or the process's end) frees it.
    Closing any other descriptor of the file in this process would drop a record lock: nothing
    here opens it twice."""

    def __init__(self, folder: Path, fd: int, created: bool = False) -> None:
        self.folder, self.fd, self.created = folder, fd, created

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            only_the_lock = [p.name for p in self.folder.iterdir()] == [LOCK]
        except OSError:  # the folder is gone or unreadable: nothing to tidy
            only_the_lock = False
        if self.created and only_the_lock:
            # a run that stopped before writing anything (its dataset missing, say) leaves no
            # folder behind; unlinked while still locked, so no other run can hold it meanwhile
            os.unlink(self.folder / LOCK)
            try:
                self.folder.rmdir()
            except OSError:  # something appeared after all: keep it
                pass
        os.ftruncate(self.fd, 0)  # an empty lock file: the run ended, nothing stale to report
        fcntl.lockf(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None
        _HELD.pop(self.folder, None)


def _holder_text(raw: str) -> str:
    try:
        info = json.loads(raw)
        return f"pid {info['pid']} on host {info['host']} (started {info['started']})"
    except (ValueError, KeyError, TypeError):
        return "an unknown process"


def _in_use(folder: Path, holder: str) -> RunFolderError:
    return RunFolderError(f"run folder {folder} is in use by {holder}; a second run into it would overwrite its checkpoint",
                          hint="wait for that run to end (or stop it), or give this run another --output-dir")


def _open_locked(folder: Path) -> Optional[int]:
    """The locked descriptor of ``folder/.lock``, or None when that file was removed under us
    (RunFolderLock.release of a run that wrote nothing): a lock on an unlinked file would
    exclude nobody, so the caller makes the folder again and retries."""
    try:
        fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except FileNotFoundError:  # the folder itself went away
        return None
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # EACCES or EAGAIN: another process holds it
        holder = _holder_text(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
        os.close(fd)
        raise _in_use(folder, holder) from None
    try:
        same = os.stat(folder / LOCK).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        same = False
    if not same:
        fcntl.lockf(fd, fcntl.LOCK_UN)
        os.close(fd)
        return None
    return fd


def lock_run_folder(folder: Path, say: Callable = print) -> RunFolderLock:
    folder = Path(folder)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    folder = folder.resolve()
    if folder in _HELD:  # this very process (its lock would not exclude itself)
        raise _in_use(folder, _HELD[folder])
    for _ in range(10):  # a run that made the folder and wrote nothing may be removing it meanwhile
        fd = _open_locked(folder)
        if fd is not None:
            break
        folder.mkdir(parents=True, exist_ok=True)
    else:
        raise RunFolderError(f"run folder {folder} kept disappearing while this run tried to lock it",
                             hint="another process is creating and removing it; give this run another --output-dir")
    previous = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
    if previous:  # the lock was free, yet names a process: one that died without releasing it
        say(f"[run] took over the stale lock of {_holder_text(previous)}, which is no longer running")
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    record = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": started}).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, record, 0)
    _HELD[folder] = _holder_text(record.decode())
    return RunFolderLock(folder, fd, created)


def _old_run_paths(folder: Path) -> list[Path]:
    found = {p for pattern in OLD_RUN_FILES for p in folder.glob(pattern) if p.is_file()}
    found |= {folder / name for name in OLD_RUN_FOLDERS if (folder / name).is_dir()}
    return sorted(found)


def claim_run_folder(folder, resume: bool, overwrite: bool, say: Callable = print) -> RunFolderLock:
    """Lock ``folder`` for this run, clear dead writers' temporary files, and refuse (or, with
    ``overwrite``, clear) an old run in it when this one starts fresh."""
    folder = Path(folder)
    lock = lock_run_folder(folder, say)
    try:
        for sub in (folder, folder / EPOCH_CHECKPOINTS):
            for path in remove_stale_temp_files(sub):
                say(f"[run] removed {path.name}, the temporary file of a write that did not finish")
        if not resume and (folder / CHECKPOINT).exists():
            if not overwrite:
                raise RunFolderError(f"{folder} already holds a run's checkpoint; a fresh run would replace it",
                                     hint=f"continue it with --resume {folder}, or start over with --overwrite "
                                          f"(deletes its checkpoint, config.yaml, metrics.json, eval.*, train.log, figures, tb/), "
                                          f"or give another --output-dir")
            old = _old_run_paths(folder)
            for path in old:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
            say(f"[run] --overwrite: deleted the old run's {', '.join(p.name for p in old)}")
    except BaseException:
        lock.release()
        raise
    return lock


def release_run_folder(lock: Optional[RunFolderLock]) -> None:
    if lock is not None:
        lock.release()
