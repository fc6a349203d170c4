"""``TrainerConfig``: the few run settings the epoch loop reads, typed.

The Trainer takes these, not the whole run config, so the engine's inputs are named and the
engine stays ignorant of data, model and loss keys. No defaults here: a run's loaded config
has every key (hl_detect/run/schema.py writes each default once), and ``from_mapping``
picks these out of it. The whole config still goes into each checkpoint, as a checkpoint
extra (run/train.py), so eval, predict and resume can rebuild the run.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Mapping, Optional


@dataclass(frozen=True)
class TrainerConfig:
    epochs: int
    log_every: int  # steps between TensorBoard scalars and plain [train] lines; under DDP also between stop agreements
    lr_warmup_iters: Optional[int]  # linear lr warm-up steps (0 or null: none)
    checkpoint_every_minutes: Optional[float]  # mid-epoch checkpoints by the clock (0 or null: off)
    checkpoint_every_steps: Optional[int]  # ... and by steps (0 or null: off)
    max_steps_per_epoch: Optional[int]  # cut epochs short (smoke tests); null: whole epochs
    clip_grad_norm: Optional[float]
    keep_epoch_checkpoints: bool  # also keep epochs/epoch_NNN.pt

    @classmethod
    def from_mapping(cls, cfg: Mapping) -> "TrainerConfig":
        """These keys of a run config (a loaded one: hl_detect.run.config.load_config)."""
        return cls(**{f.name: cfg[f.name] for f in fields(cls)})
