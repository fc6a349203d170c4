"""``RunFigures``: the engine hook that keeps the run folder's pictures (run_figures.py) current.

Redrawn after every evaluation, so a long run's folder always shows its latest confusion
matrix and curve (two small matplotlib figures: cheap beside an evaluation), and once at the
end of a session that drew none (a resumed run with nothing left to train evaluates in
``after_train``). Rank 0 only. A figure that cannot be drawn is said and skipped: the
pictures are an aid to reading a run and must not stop one whose checkpoint and metrics are fine.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

from ..engine.hooks import HookBase
from .phase_timer import PhaseTimer
from .run_figures import write_run_figures


class RunFigures(HookBase):
    def __init__(self, out_dir, class_names: Sequence[str], writer, say: Callable, enabled: bool = True,
                 timer: Optional[PhaseTimer] = None) -> None:
        self.out_dir, self.class_names, self.writer, self.say, self.enabled = out_dir, list(class_names), writer, say, enabled
        self.timer = timer or PhaseTimer()  # the run's: the drawing is its "figures" row
        self.drawn = False

    def after_epoch(self, epoch: int) -> None:
        if self.trainer.evaluated_epoch == epoch:  # evaluated just now (EvalHook runs first)
            self.draw()

    def after_train(self) -> None:
        if not self.drawn and self.trainer.result:
            self.draw()

    def draw(self) -> None:
        if not self.enabled:
            return
        trainer = self.trainer
        try:
            with self.timer.phase("figures"):
                write_run_figures(self.out_dir, trainer.result, trainer.train_log, trainer.history, self.class_names,
                                  self.writer, trainer.step)
        except Exception as error:  # noqa: BLE001 (see the module docstring)
            self.say(f"[figures] not drawn: {type(error).__name__}: {error}")
            return
        self.drawn = True
