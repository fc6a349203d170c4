"""The lr schedule of a run, built as torchvision's detection references build it.

    epoch scheduler   StepLR(optimizer, lr_step_epochs, lr_gamma), stepped after every epoch
    warm-up           LinearLR(optimizer, start_factor, total_iters), stepped after every
                      optimizer step (references/detection/engine.py's warmup_lr_scheduler)

Both use torch's chainable form: each step multiplies the lr the other one left, so
lr = lr0 * warm-up factor(step) * gamma^(epochs // lr_step_epochs) at every step, whichever
ends first. (The hand-written warm-up this replaces fixed its base lr when it was built, so a
warm-up longer than lr_step_epochs set the lr back above StepLR's decay.) Both states travel
in the checkpoint (``lr_scheduler``, ``lr_warmup``); checkpoint_upgrade.py converts the old
warm-up's state.
"""
from __future__ import annotations

from typing import Optional

import torch

WARMUP_START_FACTOR = 1e-3  # warm-up from lr / 1000, as torchvision's references do


def epoch_scheduler(optimizer: torch.optim.Optimizer, step_epochs: int, gamma: float) -> torch.optim.lr_scheduler.StepLR:
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_epochs, gamma=gamma)


def warmup_scheduler(optimizer: torch.optim.Optimizer, iters: int,
                     start_factor: float = WARMUP_START_FACTOR) -> Optional[torch.optim.lr_scheduler.LinearLR]:
    """A linear warm-up over the first ``iters`` optimizer steps (None for none); building it
    already sets the first step's lr, lr0 * ``start_factor``."""
    if iters <= 0:
        return None
    return torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=start_factor, total_iters=iters)
