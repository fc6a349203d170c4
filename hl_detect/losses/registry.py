"""Name -> box-classification loss, for configs, ``--loss`` and ``convert_to_hypersphere``."""
from __future__ import annotations

from typing import Callable

from .arcface import ArcFaceLoss
from .base import ClassificationLoss, SoftmaxLoss
from .center_loss import CenterLoss
from .constrained_center_loss import ConstrainedCenterLoss
from .cosface import CosFaceLoss
from .exclusive_regularization import ExclusiveRegularization
from .hypersphere import HypersphereLoss
from .sphereface import ASoftmaxLoss

# every builder takes (num_classes=C, feature_dim=d, **hyperparameters)
LOSSES: dict[str, Callable[..., ClassificationLoss]] = {
    "softmax": lambda num_classes, feature_dim, **kw: SoftmaxLoss(**kw),
    "hl": HypersphereLoss,
    # the comparison losses of Tables VIII/IX; MML [32] and HML [31] are left out: their
    # published definitions could not be checked, and a guessed variant would not be theirs
    "cl": CenterLoss,
    "ccl": ConstrainedCenterLoss,
    "cosface": CosFaceLoss,
    "arcface": ArcFaceLoss,
    "asl": ASoftmaxLoss,
    "er": ExclusiveRegularization,
}


def register_loss(name: str, builder: Callable[..., ClassificationLoss]) -> None:
    """Make ``builder(num_classes=, feature_dim=, **kw)`` available under ``name``."""
    LOSSES[name] = builder


def build_classification_loss(name: str, num_classes: int, feature_dim: int, **kwargs) -> ClassificationLoss:
    if name not in LOSSES:
        raise ValueError(f"unknown classification loss {name!r}; choose one of {sorted(LOSSES)}")
    return LOSSES[name](num_classes=num_classes, feature_dim=feature_dim, **kwargs)
