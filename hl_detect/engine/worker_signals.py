"""Loader workers that leave SIGTERM and SIGINT to the training process.

A scheduler that pre-empts a job (SLURM's ``scancel``, ``pkill -f train_det.py``, ``kill`` of the
process group) sends SIGTERM to every process of the job, the DataLoader workers included.
torch's worker handler makes a worker die of a SIGTERM that did not come from its parent, and
the training process then fails inside ``next(loader)`` (a ConnectionResetError or "DataLoader
worker ... is killed by signal") before its own SIGTERM handler can finish the step and write
the resumable checkpoint: the work since the last periodic checkpoint is lost.

``leave_stop_signals_to_parent`` (run in each worker by ``worker_init``) keeps torch's rule for the
parent, whose ``terminate()`` of a stuck worker still ends it, and ignores SIGTERM from anyone
else while the parent lives: the training process stops at the end of its step and shuts its
workers down itself, and a worker whose parent is gone leaves on its own (torch's watchdog, or
the next SIGTERM). Ctrl-C in a terminal (and torchrun's SIGINT to each rank's process group)
reaches the workers too; torch's worker loop would end quietly on it and leave the trainer,
which goes on to the end of its step (under DDP up to ``log_every`` steps), without batches.
So workers ignore SIGINT: the trainer alone answers it.

The sender is known only to ``sigwaitinfo``, so SIGTERM is blocked in the worker's main thread
(and so in every thread it starts) and a daemon thread waits for it. A worker started by
``fork`` (torch's default on Linux) has no other thread. One started by ``spawn`` or
``forkserver`` may already run threads of its imports that do not block SIGTERM; a SIGTERM
the kernel hands to one of those goes to a Python handler that cannot see the sender: it
ignores the signal while the parent lives and exits otherwise. Where ``sigwaitinfo`` does not
exist (macOS, Windows) torch's handler stays. The blocked SIGTERM and ignored SIGINT are
inherited by programs a worker starts. The rule runs Python code: a worker stuck in C code
that holds the GIL answers only SIGKILL.

A worker must have SIGTERM blocked from its first instruction, not only from ``worker_init``
on: torch's worker loop starts threads before it calls ``worker_init_fn``, and a thread that
does not block SIGTERM may be the one the kernel hands the parent's ``terminate()`` to. That
SIGTERM then reaches the Python handler, which cannot see its sender and ignores it while the
parent lives; the parent waits in ``join()`` for ever (multiprocessing's exit handler does
exactly this for workers still alive at interpreter exit). ``start_workers`` therefore blocks
SIGTERM in the thread that forks the workers for the moment of the fork; the workers, and
every thread they start, inherit the mask. A SIGTERM that reaches the trainer in that moment
waits and is delivered right after. ``release_workers`` ends persistent workers when a run is
over, so none outlives the run that started them (a notebook, or a test, goes on running).
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from typing import Iterator

from .data_order import seed_worker


def _parent_is_gone(parent: int) -> bool:
    try:
        os.kill(parent, 0)
    except (ProcessLookupError, PermissionError):  # no such process, or a reused pid of another user
        return True
    return False


def _wait_for_parent_sigterm(parent: int) -> None:
    while True:
        info = signal.sigwaitinfo({signal.SIGTERM})
        # the loader's own terminate() (or multiprocessing's at exit): end now, as torch's
        # handler does; an orphan ends on any SIGTERM
        if info.si_pid == parent or _parent_is_gone(parent):
            os._exit(0)


def leave_stop_signals_to_parent() -> bool:
    """In a loader worker: exit on the parent's SIGTERM, ignore anyone else's while the parent
    lives, ignore SIGINT. Returns whether the SIGTERM rule is in force (False where the
    platform lacks ``sigwaitinfo``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not hasattr(signal, "sigwaitinfo") or not hasattr(signal, "pthread_sigmask"):
        return False
    # the process that started this worker: the trainer, also under the forkserver start method
    # (there os.getppid() is the fork server, whose terminate() never comes)
    parent = multiprocessing.parent_process()
    parent_pid = parent.pid if parent is not None else os.getppid()
    # for threads that were running before this (spawn, forkserver): no sender known here
    signal.signal(signal.SIGTERM, lambda signum, frame: _parent_is_gone(parent_pid) and os._exit(0))
    # block in this (the main) thread, so no SIGTERM reaches that handler from here on; the
    # thread started below inherits the mask and takes the signal with sigwaitinfo
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    threading.Thread(target=_wait_for_parent_sigterm, args=(parent_pid,), daemon=True,
                     name="hl_detect-sigterm").start()
    return True


def worker_init(worker_id: int) -> None:
    """The DataLoader ``worker_init_fn`` of hl_detect's loaders: seeds, then the signal rules."""
    seed_worker(worker_id)
    leave_stop_signals_to_parent()


@contextlib.contextmanager
def _sigterm_blocked() -> Iterator[None]:
    """SIGTERM blocked in the calling thread (and so in processes it forks) for the block."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)  # a SIGTERM that came meanwhile is delivered now


def start_workers(loader):
    """``iter(loader)``, with SIGTERM blocked while the loader forks its workers (see above)."""
    with _sigterm_blocked():
        return iter(loader)


def release_workers(loader) -> None:
    """End the persistent workers of ``loader`` (a DataLoader, or a wrapper with ``.loader``).

    A DataLoader keeps them in its private ``_iterator`` until it is garbage; a reference cycle
    would keep them until the interpreter exits. Shutting them down is torch's own step."""
    loader = getattr(loader, "loader", loader)
    iterator = getattr(loader, "_iterator", None)
    if iterator is not None and hasattr(iterator, "_shutdown_workers"):
        iterator._shutdown_workers()
        loader._iterator = None
