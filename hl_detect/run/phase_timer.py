"""``PhaseTimer``: where a run's wall time went, phase by phase (issue 26).

``with timer.phase("evaluation"): ...`` adds the block's wall seconds to its phase. Phases
nest: an inner phase's time counts for the inner phase alone and is taken out of the phase
around it, so training that runs an evaluation in its epoch-end hooks counts only the steps,
and the phases never count a second twice. What no phase covers (start-up, the run-folder
lock, the bad-image trackers, stopping the loader workers) is reported as ``other``, so the
rows always add up to the total the timer measured since it was made: honest by construction.

Cheap on purpose (one clock read at each end of a phase, a dict update): it wraps whole
passes, never single steps. Not thread-safe: one timer per process, used from its main thread.
"""
from __future__ import annotations

import contextlib
import time
from typing import Callable, Iterator

from ..tables import aligned_lines

OTHER = "other"  # the rest of the total: no phase covered it


class PhaseTimer:
    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock  # injectable, so tests can check the arithmetic without measuring anything
        self.started = clock()
        self.seconds: dict[str, float] = {}  # phase -> its own seconds (the nested phases' taken out), in first-use order
        self._open: list[list] = []  # [start, seconds of the phases nested in it] per open phase, innermost last

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        frame = [self.clock(), 0.0]
        self._open.append(frame)
        try:
            yield
        finally:  # a phase that raises still took its time
            self._open.pop()
            spent = self.clock() - frame[0]
            self.seconds[name] = self.seconds.get(name, 0.0) + spent - frame[1]
            if self._open:
                self._open[-1][1] += spent

    def elapsed(self) -> float:
        return self.clock() - self.started

    def breakdown(self, total: float) -> dict:
        """{phase: seconds, ..., "other": the rest, "total": total}: the rows sum to ``total``.

        ``total`` is the caller's reading of ``elapsed()``, so that the table and the run's
        ``elapsed_s`` are the same number. ``other`` is never below zero (it could only be by
        rounding, or with a phase still open, which a caller should not report)."""
        rows = {name: round(seconds, 3) for name, seconds in self.seconds.items()}
        rows[OTHER] = round(max(0.0, total - sum(self.seconds.values())), 3)
        rows["total"] = round(total, 3)
        return rows


def timing_block(rows: dict, heading: str) -> str:
    """The ``[time]`` block printed at the end of a run: phase, seconds and share of the total,
    largest first (``other`` and the total last), every line tagged so ``grep '^\\[time\\]'`` finds it."""
    total = rows["total"]
    phases = sorted(((k, v) for k, v in rows.items() if k not in (OTHER, "total")), key=lambda kv: -kv[1])

    def row(name, seconds):
        share = f"{100 * seconds / total:.1f} %" if total > 0 else "n/a"
        return [name, f"{seconds:.1f}", share]

    body = [row(k, v) for k, v in phases] + [row(OTHER, rows[OTHER]), row("total", total)]
    lines = aligned_lines(["phase", "seconds", "share"], body)
    return "\n".join(f"[time] {line}" for line in [heading, *lines])
