"""Name -> box-classification loss, for configs, ``--loss`` and ``convert_to_hypersphere``.

Names join with ``+`` (``cosface+hl``): the parts are trained together (losses/composed.py).
"""
from __future__ import annotations

from typing import Callable

from .arcface import ArcFaceLoss
from .base import ClassificationLoss, SoftmaxLoss
from .composed import ComposedLoss
from .center_loss import CenterLoss
from .constrained_center_loss import ConstrainedCenterLoss
from .cosface import CosFaceLoss
from .exclusive_regularization import ExclusiveRegularization
from .hypersphere import HypersphereLoss
from .hard_mining import HardMiningLoss
from .hypersphere_authors import AuthorsCodeHypersphereLoss
from .amcm_softmax import AMCMSoftmaxLoss
from .sphereface import ASoftmaxLoss

# every builder takes (num_classes=C, feature_dim=d, **hyperparameters)
LOSSES: dict[str, Callable[..., ClassificationLoss]] = {
    "softmax": lambda num_classes, feature_dim, **kw: SoftmaxLoss(**kw),
    "hl": HypersphereLoss,
    # the authors' detection script (per-image centers, quartic penalty, numel normalization), checked
    # against a literal port of their code in tests/core/test_hl_authors_port.py
    "hl_authors_code": AuthorsCodeHypersphereLoss,
    # the comparison losses of Tables VIII/IX (MML and HML: see their modules for the sources)
    "cl": CenterLoss,
    "ccl": ConstrainedCenterLoss,
    "mml": AMCMSoftmaxLoss,
    "hml": HardMiningLoss,
    "cosface": CosFaceLoss,
    "arcface": ArcFaceLoss,
    "asl": ASoftmaxLoss,
    "er": ExclusiveRegularization,
}


def register_loss(name: str, builder: Callable[..., ClassificationLoss]) -> None:
    """Make ``builder(num_classes=, feature_dim=, **kw)`` available under ``name``."""
    LOSSES[name] = builder


def loss_parts(name: str) -> list[str]:
    """``"cosface+hl"`` -> ``["cosface", "hl"]``; a plain name -> ``[name]``; unknown names fail."""
    parts = [p.strip() for p in name.split("+")]
    for part in parts:
        if part not in LOSSES:
            raise ValueError(f"unknown classification loss {part!r}; choose one of {sorted(LOSSES)}, "
                             "or join a logit loss and penalties with '+', e.g. cosface+hl")
    if len(set(parts)) != len(parts):
        raise ValueError(f"{name!r} names a loss twice")
    return parts


def build_classification_loss(name: str, num_classes: int, feature_dim: int, **kwargs) -> ClassificationLoss:
    """The loss ``name`` for C = ``num_classes`` and d = ``feature_dim``.

    A composed name ``"a+b"`` takes one keyword dict per part:
    ``build_classification_loss("cosface+hl", 20, 2048, hl={"weight": 0.02}, cosface={})``.
    """
    parts = loss_parts(name)
    if len(parts) == 1:
        return LOSSES[name](num_classes=num_classes, feature_dim=feature_dim, **kwargs)
    unknown = set(kwargs) - set(parts)
    if unknown:
        raise TypeError(f"{name}: keyword arguments go in one dict per part ({', '.join(parts)}); got {sorted(unknown)}")
    return ComposedLoss({p: LOSSES[p](num_classes=num_classes, feature_dim=feature_dim, **(kwargs.get(p) or {}))
                         for p in parts})
