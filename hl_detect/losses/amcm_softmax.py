"""``mml``: the combined angular and cosine margin softmax, AMCM-Softmax (Li et al., Neural
Computing and Applications 34(13), 2022; the paper's ref. [32], "MML" in its tables).

    target logit  s * (cos(theta_y + m1) - m2),   other logits  s * cos(theta_j)

Source of the formula: the article's abstract (weights and features l2-normalized, an
additive angular margin and an additive cosine margin on the target logit). Its full text
was not readable from where this was written, so the exact placement of the two margins
above is our reading of the abstract, the form of ArcFace's "combined margin" (Deng et al.,
CVPR 2019, eq. 4 with m1 = 1). Defaults follow that paper's combined-margin setting CM1:
angular margin 0.3, cosine margin 0.2, and ArcFace's scale s = 64. With either margin at 0
the loss is ArcFace or CosFace exactly (tested).

cos(theta + m1) uses ArcFace's monotone form (``arcface.additive_angular_cosine``).
Background: see ``margin.MarginLoss``.
"""
from __future__ import annotations

import math

from torch import Tensor

from .arcface import additive_angular_cosine
from .margin import MarginLoss


class AMCMSoftmaxLoss(MarginLoss):
    name = "mml"

    def __init__(self, num_classes: int, feature_dim: int, scale: float = 64.0, angular_margin: float = 0.3,
                 cosine_margin: float = 0.2, margin_on_background: bool = True) -> None:
        super().__init__(num_classes, feature_dim, scale, margin_on_background)
        if not 0.0 <= angular_margin < math.pi:
            raise ValueError(f"the angular margin must be in [0, pi), got {angular_margin}")
        self.angular_margin = float(angular_margin)
        self.cosine_margin = float(cosine_margin)

    def target_cosine(self, cos: Tensor) -> Tensor:
        return additive_angular_cosine(cos, self.angular_margin) - self.cosine_margin

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, m1={self.angular_margin}, m2={self.cosine_margin}"
