"""When a run writes a checkpoint inside an epoch: every N steps and/or every M minutes.

The end of an epoch always writes one (the trainer does that); this decides the ones in
between, so a kill -9, an OOM kill or a preemption loses at most that much work. The clock
is injectable so tests need not wait.
"""
from __future__ import annotations

import time
from typing import Callable, Optional

from ..errors import ConfigError


class CheckpointSchedule:
    """``due(step)``: is a checkpoint owed after optimizer step ``step`` (global, 1-based)?

    every_steps: write after every that many steps (0 or None: off).
    every_minutes: write when that many minutes passed since the last write (0 or None: off).
    """

    def __init__(self, every_minutes: Optional[float] = 10.0, every_steps: Optional[int] = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if (every_minutes or 0) < 0 or (every_steps or 0) < 0:
            raise ConfigError(f"checkpoint_every_minutes and checkpoint_every_steps must be >= 0, "
                             f"got {every_minutes} and {every_steps}")
        self.seconds = 60.0 * float(every_minutes or 0)
        self.steps = int(every_steps or 0)
        self.clock = clock
        self.last = clock()

    def saved(self) -> None:
        """A checkpoint was just written (any kind): the minutes count from now."""
        self.last = self.clock()

    def due_by_steps(self, step: int) -> bool:
        return self.steps > 0 and step % self.steps == 0

    def due_by_time(self) -> bool:
        return self.seconds > 0 and self.clock() - self.last >= self.seconds

    def due(self, step: int) -> bool:
        return self.due_by_steps(step) or self.due_by_time()
