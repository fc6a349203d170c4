"""Hooks: each one concern of a training run, in the spirit of detectron2's ``HookBase``.

The Trainer (trainer.py) calls every hook at each point below, in list order, and knows none
of them; a hook reaches the run through ``self.trainer`` (set when the Trainer takes it).

    before_train()            once, before the first step of this session
    before_step(step)         step: optimizer steps done so far (global)
    step_values() -> dict     {TensorBoard tag: 0-d tensor}, read with the loss values in one
                              host read; the epoch mean goes under the tag's last part
                              (hl/grad_ratio -> grad_ratio)
    after_optimizer_step()    the weights have moved
    after_epoch(epoch)        the epoch's steps are done and its checkpoint is written
    after_train()             once, after the last epoch (not when a session stops early)

``progress_terms`` names loss terms for the progress bar ({"hl": "loss_hypersphere"}).
The Trainer itself keeps what makes a run resumable: the position, the checkpoints inside
and at the end of epochs, and the stop on SIGINT/SIGTERM, which share one agreement between
DDP ranks per logging step.

Order at an epoch end (trainer.py): the checkpoint first, then the hooks, evaluation
among them. detectron2's engine/defaults.py: "Do evaluation after checkpointer, because then
if it fails, we can use the saved checkpoint to debug."
"""
from __future__ import annotations

from typing import Optional

from ..stats import percent


class HookBase:
    trainer = None
    progress_terms: dict = {}

    def before_train(self) -> None:
        pass

    def before_step(self, step: int) -> None:
        pass

    def step_values(self) -> dict:
        return {}

    def after_optimizer_step(self) -> None:
        pass

    def after_epoch(self, epoch: int) -> None:
        pass

    def after_train(self) -> None:
        pass


class EvalHook(HookBase):
    """Evaluates every ``eval_every`` epochs and after the last one: ``evaluation(model, step,
    epoch)`` returns the metrics (and does the run's logging of them); the trainer keeps the
    history. The checkpoint written just before holds the epoch; the one after adds the result."""

    def __init__(self, evaluation, eval_every: int, epochs: int, eval_last_epochs: int = 1) -> None:
        self.evaluation, self.eval_every, self.epochs = evaluation, max(1, eval_every), epochs
        # > 1 also evaluates each of the last epochs: a plateau is seen, not assumed (the loss study)
        self.eval_last_epochs = max(1, eval_last_epochs or 1)

    def due(self, epoch: int) -> bool:
        return (epoch + 1) % self.eval_every == 0 or epoch + 1 > self.epochs - self.eval_last_epochs

    def before_train(self) -> None:
        """Resumed from the checkpoint written just before an evaluation that never finished
        (a crash, a kill): evaluate that epoch now."""
        trainer = self.trainer
        done = {h["epoch"] for h in trainer.history}
        if trainer.step and trainer.epoch_complete and self.due(trainer.epoch) and trainer.epoch not in done:
            self.after_epoch(trainer.epoch)

    def after_epoch(self, epoch: int) -> None:
        if self.due(epoch):
            self.trainer.record_evaluation(epoch, self.evaluation(self.trainer.model, step=self.trainer.step, epoch=epoch))
            self.trainer.save()  # the history with this epoch's result; a crash above kept the epoch

    def after_train(self) -> None:
        if not self.trainer.result:  # nothing was left to train (e.g. resumed a finished run): evaluate once
            self.trainer.result = self.evaluation(self.trainer.model, step=self.trainer.step, epoch=None)


class EpochLogHook(HookBase):
    """One ``[epoch N]`` line per epoch (say) and the epoch's loss means in TensorBoard."""

    def __init__(self, say, writer=None) -> None:
        self.say, self.writer = say, writer

    def after_epoch(self, epoch: int) -> None:
        trainer = self.trainer
        self.say(epoch_line(epoch, trainer.epoch_means, trainer.epoch_lr, trainer.images_per_second(),
                            trainer.result if trainer.evaluated_epoch == epoch else None))
        if self.writer is not None:
            for key, value in trainer.epoch_means.items():
                self.writer.add_scalar(f"epoch/{key}", value, epoch)


def epoch_line(epoch: int, means: dict, lr: float, images_per_second: float, result: Optional[dict] = None) -> str:
    """One line per epoch, so a log without progress bars is never silent between evaluations:
    the loss means, lr, speed, the HL/CE gradient ratio where measured, and the evaluation if one ran."""
    terms = " ".join(f"{k}={v:.4f}" for k, v in means.items() if k.startswith("loss"))
    line = f"[epoch {epoch}] {terms} lr={lr:.3g} {images_per_second:.1f} img/s"
    ratio = means.get("grad_ratio")
    if ratio is not None:
        line += f" | extra/CE gradient ratio at the box features {ratio:.3g}"
    if result:
        line += f" | AP@0.5 (area) {percent(result.get('mAP50_area'), missing='n/a')} box accuracy {percent(result.get('box_accuracy'), missing='n/a')}"
    return line

