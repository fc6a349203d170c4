"""Stop signals handled for the length of a block: the trainer (a stop at the next step) and a
study's scheduler (its children stopped) each put their own handler in place and restore
whatever was there before, so a caller's handling (pytest's, a tool's) comes back afterwards.
Only the main thread may do this (Python runs signal handlers there)."""
from __future__ import annotations

import contextlib
import signal
from typing import Callable, Iterable

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # Ctrl-C, and `kill` / a scheduler's stop


@contextlib.contextmanager
def handling(handler: Callable, signals: Iterable[int] = STOP_SIGNALS):
    """``handler`` for ``signals`` inside the block; the previous handlers after it."""
    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
