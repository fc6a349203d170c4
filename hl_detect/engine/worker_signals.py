"""Loader workers that leave SIGTERM to the training process.

A scheduler that pre-empts a job (SLURM's ``scancel``, ``pkill -f train_det.py``, ``kill`` of the
process group) sends SIGTERM to every process of the job, the DataLoader workers included.
torch's worker handler makes a worker die of a SIGTERM that did not come from its parent, and
the training process then fails inside ``next(loader)`` (a ConnectionResetError or "DataLoader
worker ... is killed by signal") before its own SIGTERM handler can finish the step and write
the resumable checkpoint: the work since the last periodic checkpoint is lost.

``ignore_foreign_sigterm`` (run in each worker by ``worker_init``) keeps torch's rule for the
parent, whose ``terminate()`` of a stuck worker still ends it at once, and ignores SIGTERM from
anyone else: the training process stops at the end of its step and shuts its workers down
itself, and a worker whose parent is gone leaves on its own (torch's watchdog).

The sender is known only to ``sigwaitinfo``, so SIGTERM is blocked in the worker and a daemon
thread waits for it. Where ``sigwaitinfo`` does not exist (macOS, Windows) torch's handler stays.
"""
from __future__ import annotations

import os
import signal
import threading

from .data_order import seed_worker


def _wait_for_parent_sigterm(parent: int) -> None:
    while True:
        info = signal.sigwaitinfo({signal.SIGTERM})
        if info.si_pid == parent:  # the loader's own terminate(): end now, as torch's handler does
            os._exit(0)


def ignore_foreign_sigterm() -> bool:
    """In a loader worker: exit on the parent's SIGTERM, ignore anyone else's. Returns whether
    the rule is in force (False where the platform lacks ``sigwaitinfo``)."""
    if not hasattr(signal, "sigwaitinfo") or not hasattr(signal, "pthread_sigmask"):
        return False
    # block first, in this (the main) thread, so no SIGTERM reaches torch's handler meanwhile;
    # the thread started below inherits the mask and takes the signal with sigwaitinfo
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    threading.Thread(target=_wait_for_parent_sigterm, args=(os.getppid(),), daemon=True,
                     name="hl_detect-sigterm").start()
    return True


def worker_init(worker_id: int) -> None:
    """The DataLoader ``worker_init_fn`` of hl_detect's loaders: seeds, then the SIGTERM rule."""
    seed_worker(worker_id)
    ignore_foreign_sigterm()
