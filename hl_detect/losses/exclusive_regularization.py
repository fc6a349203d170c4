"""``er``: exclusive regularization, RegularFace (Zhao, Xu and Cheng, CVPR 2019; the paper's ref. [5]).

Shapes: W [K, d], the box classifier's weight rows (K = C + 1 with background).

    L = CE(logits, labels) + lambda * L_r(W),
    L_r(W) = 1/K * sum_i max_{j != i} w_i . w_j / (||w_i|| ||w_j||)

It pushes every class's weight vector away from its nearest other class. The classifier
is torchvision's linear one, unchanged (ER combined with plain softmax); inference is
torchvision's. Background is an ordinary class of the softmax, so its weight row takes
part by default (``include_background=False`` regularizes the C foreground rows only).
lambda = 1.0 by default: RegularFace does not give one value for all settings; tune it.
The term is reported as ``loss_exclusive``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError
from .base import ClassificationLoss


def exclusive_regularization(weight: Tensor) -> Tensor:
    """Mean over rows of the largest cosine to any other row (RegularFace's L_r); needs K >= 2."""
    if weight.shape[0] < 2:
        raise ValueError("exclusive regularization needs at least two classes")
    unit = F.normalize(weight, dim=1)
    cos = unit @ unit.t()
    eye = torch.eye(cos.shape[0], dtype=torch.bool, device=cos.device)
    return cos.masked_fill(eye, float("-inf")).max(dim=1).values.mean()


class ExclusiveRegularization(ClassificationLoss):
    """CE + lambda * L_r over the classifier's weight rows (read from the predictor at conversion)."""

    name = "er"

    def __init__(self, num_classes: int, feature_dim: int, weight: float = 1.0, include_background: bool = True) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.weight = float(weight)
        self.include_background = bool(include_background)
        self._classifier: tuple[nn.Module, ...] = ()

    def adapt_predictor(self, predictor: nn.Module) -> nn.Module:
        cls_score = getattr(predictor, "cls_score", None)
        if not isinstance(getattr(cls_score, "weight", None), Tensor):
            raise TypeError(f"exclusive regularization needs a predictor with a `cls_score.weight`; got {type(predictor).__name__}")
        rows = cls_score.weight.shape[0] - (0 if self.include_background else 1)
        if rows < 2:  # refused at conversion, not at the first training step
            raise ConfigError(f"exclusive regularization needs at least two classifier rows to push apart; "
                              f"this predictor has {rows} with include_background={self.include_background}",
                              hint="--set loss_options.er.include_background=true, or data with two or more classes")
        # a reference in a tuple, not a submodule: the weights stay the predictor's alone (one state_dict key)
        self._classifier = (cls_score,)
        return predictor

    def extra_losses(self, features: Tensor, labels: Tensor, rois_per_image=None) -> dict[str, Tensor]:
        if not self.training:
            return {}
        if not self._classifier:
            raise RuntimeError("ExclusiveRegularization has no classifier: convert the model with it (adapt_predictor)")
        weight = self._classifier[0].weight.float()
        if not self.include_background:
            weight = weight[1:]
        return {"loss_exclusive": self.weight * exclusive_regularization(weight)}

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, lambda={self.weight}, include_background={self.include_background}"
