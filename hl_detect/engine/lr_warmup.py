"""``IterWarmup``: a linear lr warm-up over the first steps, layered on the epoch schedule.

Its position and base lr travel in the checkpoint (``state_dict``), so a run resumed inside
the warm-up continues it exactly where it stopped.
"""
from __future__ import annotations

from typing import Optional


class IterWarmup:
    """lr = base * (start_factor ... 1) over the first ``iters`` optimizer steps, then untouched."""

    def __init__(self, optimizer, iters: int, start_factor: float = 1e-3, state: Optional[dict] = None) -> None:
        self.optimizer, self.iters, self.start_factor, self.count = optimizer, iters, start_factor, 0
        self.base = [g["lr"] for g in optimizer.param_groups]
        if state is not None:
            self.load_state_dict(state)
        elif iters > 0:
            self._apply()

    def state_dict(self) -> dict:
        return {"count": self.count, "base": list(self.base), "iters": self.iters}

    def load_state_dict(self, state: dict) -> None:
        self.count, self.base = int(state["count"]), [float(b) for b in state["base"]]
        if self.count < self.iters:  # still warming up: set the lr it had reached; after it, leave the lr alone
            self._apply()

    def _apply(self) -> None:
        alpha = min(1.0, self.count / self.iters) if self.iters else 1.0
        factor = self.start_factor * (1 - alpha) + alpha
        for group, base in zip(self.optimizer.param_groups, self.base):
            group["lr"] = base * factor

    def step(self) -> None:
        if self.count < self.iters:
            self.count += 1
            self._apply()
