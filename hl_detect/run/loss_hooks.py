"""The plugin's part of a training step, as engine hooks: the engine itself knows no loss.

``LossSteps`` tells the classification loss that an optimizer step is done (HL's
``count_steps="optimizer"`` schedule counts them; convert.step_losses), measures the
HL / CE gradient ratio at the box features on logging steps (roi_heads.py's
``measure_grad_ratio``; TensorBoard ``hl/grad_ratio``, epoch mean ``grad_ratio``), and shows
``loss_hypersphere`` on the progress bar.
"""
from __future__ import annotations

from ..convert import step_losses
from ..engine.hooks import HookBase


class LossSteps(HookBase):
    progress_terms = {"hl": "loss_hypersphere"}

    def __init__(self, model, log_every: int) -> None:
        self.model, self.log_every = model, max(1, log_every)
        self.heads = getattr(getattr(model, "module", model), "roi_heads", None)
        self.measuring = False

    def before_step(self, step: int) -> None:
        self.measuring = hasattr(self.heads, "measure_grad_ratio") and (step + 1) % self.log_every == 0
        if self.measuring:
            self.heads.measure_grad_ratio, self.heads.last_grad_ratio = True, None

    def step_values(self) -> dict:
        ratio = self.heads.last_grad_ratio if self.measuring else None
        return {} if ratio is None else {"hl/grad_ratio": ratio}

    def after_optimizer_step(self) -> None:
        step_losses(self.model)
