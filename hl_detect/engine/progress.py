"""Progress of a pass over a loader: a tqdm bar on a terminal, plain lines everywhere else.

A bar redraws itself with ``\\r``; in a piped log (nohup, CI, ``| tee``) every redraw is
kept and the log fills with half lines. So the bar is drawn only where stderr (tqdm's
stream) is a terminal; otherwise ``say`` gets one whole line every ``every`` steps, with the
counts, the values and an ETA from this session's pace.

    progress = step_progress(total, enabled=True, every=20, say=print, bar_desc="epoch 0",
                             line_prefix="[train] epoch 0", initial=0)
    progress.update(position, bar_fields={...}, line_text=lambda: "loss=...")
    progress.close()

``position`` decides when a line is due (``position % every == 0``): the training loop
passes the global step, so a run logs at the same steps as its TensorBoard scalars,
however its epochs are cut or resumed.
"""
from __future__ import annotations

import datetime
import sys
import time
from typing import Callable, Optional

from tqdm import tqdm


def stderr_is_terminal() -> bool:
    isatty = getattr(sys.stderr, "isatty", None)  # a replaced stderr may not have it
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def eta_text(seconds: float) -> str:
    return str(datetime.timedelta(seconds=round(max(0.0, seconds))))


class NoProgress:
    """``progress=False`` (``--no-progress``) or a rank other than 0: nothing per step."""

    def update(self, position: int, bar_fields: Optional[dict] = None, line_text: Optional[Callable[[], str]] = None) -> None:
        pass

    def close(self) -> None:
        pass


class BarProgress(NoProgress):
    def __init__(self, total: Optional[int], desc: str, initial: int = 0) -> None:
        self.bar = tqdm(total=total, initial=initial, desc=desc, dynamic_ncols=True)

    def update(self, position, bar_fields=None, line_text=None) -> None:
        if bar_fields:
            self.bar.set_postfix(**bar_fields, refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        # the estimate was too high (a shorter last batch, skipped images): end at what was done
        if self.bar.total is not None and self.bar.n != self.bar.total:
            self.bar.total = self.bar.n
            self.bar.refresh()
        self.bar.close()


class LineProgress(NoProgress):
    """One line per ``every`` positions: ``<prefix> <done>/<total> <text> eta H:MM:SS``;
    ``final_line`` adds one at ``close`` unless the last update printed it (evaluation: the
    count actually done is the last thing said)."""

    def __init__(self, total: Optional[int], prefix: str, every: int, say: Callable, initial: int = 0,
                 final_line: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.prefix, self.every, self.say = total, prefix, max(1, int(every)), say
        self.done, self.session_done, self.final_line, self.clock = initial, 0, final_line, clock
        self.started, self.printed_at, self.last_text = clock(), None, None

    def update(self, position, bar_fields=None, line_text=None) -> None:
        self.done += 1
        self.session_done += 1
        self.last_text = line_text
        if position % self.every == 0:
            self._line()

    def _line(self) -> None:
        counts = f"{self.done}/{self.total}" if self.total is not None else str(self.done)
        text = self.last_text() if self.last_text is not None else ""
        line = f"{self.prefix} {counts}" + (f" {text}" if text else "")
        if self.total is not None and self.done < self.total:
            # this session's pace: the steps before a resume took an unknown time
            per_step = (self.clock() - self.started) / max(1, self.session_done)
            line += f" eta {eta_text(per_step * (self.total - self.done))}"
        self.say(line)
        self.printed_at = self.done

    def close(self) -> None:
        if self.final_line and self.session_done and self.printed_at != self.done:
            self.total = self.done  # the pass is over: what was done is the total
            self._line()


def step_progress(total: Optional[int], *, enabled: bool, every: int, say: Callable, bar_desc: str,
                  line_prefix: str, initial: int = 0, final_line: bool = False):
    """The progress display this process should show (see the module docstring)."""
    if not enabled:
        return NoProgress()
    if stderr_is_terminal():
        return BarProgress(total, bar_desc, initial)
    return LineProgress(total, line_prefix, every, say, initial, final_line)
