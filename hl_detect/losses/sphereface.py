"""``asl``: angular softmax (A-Softmax), SphereFace (Liu et al., CVPR 2017; the paper's ref. [6]).

The paper's Sec. IV-F cites ASL as [14], which is ArcFace; A-Softmax is SphereFace, [6].

Weights normalized, no bias, features not normalized (``NormalizedLinear`` with
``normalize_features=False``), so the logits are ||f|| cos(theta_j). In training the target
logit gets the multiplicative angular margin m, with SphereFace's annealing lambda:

    psi(theta) = (-1)^k cos(m theta) - 2k,   theta in [k pi/m, (k+1) pi/m],  k = 0..m-1
    target logit = ||f|| (lambda cos(theta) + psi(theta)) / (1 + lambda)
    lambda = max(lambda_min, base (1 + gamma * step)^(-power))

cos(m theta) is the Chebyshev polynomial T_m(cos theta), so no acos enters the gradient
(k only selects the branch). Defaults are SphereFace's released Caffe settings: m = 4,
base = 1000, gamma = 0.12, power = 1, lambda_min = 5. The step count is a buffer
(state_dict, resume). Background: see ``margin.MarginLoss``.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from .margin import MarginLoss


def chebyshev(cos: Tensor, m: int) -> Tensor:
    """cos(m theta) from cos(theta): T_0 = 1, T_1 = x, T_{n+1} = 2x T_n - T_{n-1}."""
    previous, current = torch.ones_like(cos), cos
    if m == 0:
        return previous
    for _ in range(m - 1):
        previous, current = current, 2.0 * cos * current - previous
    return current


class ASoftmaxLoss(MarginLoss):
    name = "asl"

    def __init__(self, num_classes: int, feature_dim: int, margin: int = 4, base: float = 1000.0, gamma: float = 0.12,
                 power: float = 1.0, lambda_min: float = 5.0, margin_on_background: bool = True) -> None:
        super().__init__(num_classes, feature_dim, None, margin_on_background)
        if int(margin) != margin or margin < 1:
            raise ValueError(f"A-Softmax needs an integer margin m >= 1, got {margin}")
        self.margin = int(margin)
        self.base, self.gamma, self.power, self.lambda_min = float(base), float(gamma), float(power), float(lambda_min)
        self.register_buffer("num_steps", torch.zeros((), dtype=torch.int64))

    def annealing(self) -> Tensor:
        """lambda at the current step (a device tensor: no host sync)."""
        decay = self.base * (1.0 + self.gamma * self.num_steps.float()) ** (-self.power)
        return decay.clamp(min=self.lambda_min)

    def target_cosine(self, cos: Tensor) -> Tensor:
        with torch.no_grad():
            k = torch.floor(self.margin * torch.acos(cos) / math.pi).clamp(max=self.margin - 1)
        sign = 1.0 - 2.0 * torch.remainder(k, 2.0)  # (-1)^k
        psi = sign * chebyshev(cos, self.margin) - 2.0 * k
        lam = self.annealing()
        return (lam * cos + psi) / (1.0 + lam)

    def training_logits(self, logits: Tensor, features: Tensor, labels: Tensor) -> Tensor:
        out = super().training_logits(logits, features, labels)
        if self.is_training_step():  # a validation-loss pass does not advance the annealing
            self.num_steps += 1
        return out

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, m={self.margin}, lambda=max({self.lambda_min}, "
                f"{self.base}(1 + {self.gamma} step)^-{self.power})")
