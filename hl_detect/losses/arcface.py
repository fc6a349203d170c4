"""``arcface``: additive angular margin loss, ArcFace (Deng et al., CVPR 2019; the paper's ref. [14]).

    target logit  s * cos(theta_y + m),   other logits  s * cos(theta_j)

computed as cos(theta) cos(m) - sin(theta) sin(m) (no acos, so the gradient stays finite at
theta = 0). Where theta + m > pi, cos(theta + m) would rise again; there we use
cos(theta) - m sin(m), as the authors' released code does, which keeps the target logit
decreasing in theta. Defaults are ArcFace's: s = 64, m = 0.5. Background: see
``margin.MarginLoss``.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from .margin import MarginLoss


def additive_angular_cosine(cos: Tensor, margin: float) -> Tensor:
    """cos(theta + m) from cos(theta), monotone in theta (the fallback past theta + m = pi above)."""
    sin = (1.0 - cos * cos).clamp(min=1e-12).sqrt()
    shifted = cos * math.cos(margin) - sin * math.sin(margin)
    # theta + m <= pi  <=>  cos(theta) >= cos(pi - m)
    return torch.where(cos >= math.cos(math.pi - margin), shifted, cos - margin * math.sin(margin))


class ArcFaceLoss(MarginLoss):
    name = "arcface"

    def __init__(self, num_classes: int, feature_dim: int, scale: float = 64.0, margin: float = 0.5,
                 margin_on_background: bool = True) -> None:
        super().__init__(num_classes, feature_dim, scale, margin_on_background)
        if not 0.0 <= margin < math.pi:
            raise ValueError(f"the angular margin must be in [0, pi), got {margin}")
        self.margin = float(margin)

    def target_cosine(self, cos: Tensor) -> Tensor:
        return additive_angular_cosine(cos, self.margin)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, m={self.margin}"
