"""Name -> box-classification loss, for configs, ``--loss`` and ``convert_to_hypersphere``."""
from __future__ import annotations

from typing import Callable

from .base import ClassificationLoss, SoftmaxLoss
from .hypersphere import HypersphereLoss

# every builder takes (num_classes=C, feature_dim=d, **hyperparameters)
LOSSES: dict[str, Callable[..., ClassificationLoss]] = {
    "softmax": lambda num_classes, feature_dim, **kw: SoftmaxLoss(**kw),
    "hl": HypersphereLoss,
}


def register_loss(name: str, builder: Callable[..., ClassificationLoss]) -> None:
    """Make ``builder(num_classes=, feature_dim=, **kw)`` available under ``name``."""
    LOSSES[name] = builder


def build_classification_loss(name: str, num_classes: int, feature_dim: int, **kwargs) -> ClassificationLoss:
    if name not in LOSSES:
        raise ValueError(f"unknown classification loss {name!r}; choose one of {sorted(LOSSES)}")
    return LOSSES[name](num_classes=num_classes, feature_dim=feature_dim, **kwargs)
