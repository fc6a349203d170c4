"""``cosface``: large margin cosine loss, CosFace (Wang et al., CVPR 2018; the paper's ref. [15]).

    target logit  s * (cos(theta_y) - m),   other logits  s * cos(theta_j)

Weights and features l2-normalized (``NormalizedLinear``); inference logits s * cos(theta).
Defaults are CosFace's: s = 64, m = 0.35. Background: see ``margin.MarginLoss`` (the
margin applies to background RoIs too unless ``margin_on_background=False``).
"""
from __future__ import annotations

from torch import Tensor

from .margin import MarginLoss


class CosFaceLoss(MarginLoss):
    name = "cosface"

    def __init__(self, num_classes: int, feature_dim: int, scale: float = 64.0, margin: float = 0.35,
                 margin_on_background: bool = True) -> None:
        super().__init__(num_classes, feature_dim, scale, margin_on_background)
        self.margin = float(margin)

    def target_cosine(self, cos: Tensor) -> Tensor:
        return cos - self.margin

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, m={self.margin}"
