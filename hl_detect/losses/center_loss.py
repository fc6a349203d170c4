"""``cl``: center loss (Wen et al., ECCV 2016; the paper's ref. [16]), eqs. 2-3 of the paper.

Shapes: R sampled RoIs, d feature size, C foreground classes; ``centers`` [C, d] (an
nn.Parameter, in state_dict). Background RoIs (label 0) have no center: the center term
runs over the m foreground RoIs only, and is an exact 0 that keeps the graph when m = 0.

    L = CE(logits, labels) + lambda / (2 m) * sum_{i: y_i >= 1} ||f_i - c_{y_i}||^2     (eqs. 2-3)

The paper's N (eq. 2) becomes m, the number of RoIs with a center, as for HL (eq. 17).
How the centers learn:
  - ``alpha`` set (default 0.5, Wen et al.'s value): Wen et al.'s own rule (their eq. 4),
    after the loss, under no_grad, with its own rate alpha and per-class normalization,
        c_j <- c_j - alpha * sum_{i: y_i = j} (c_j - f_i) / (1 + n_j),
    from class sums all-reduced across ranks (DDP); the parameter has requires_grad=False,
    so the optimizer (and its weight decay) never touches it;
  - ``alpha=None``: the paper's reading of eq. 3, "all parameters optimized by mini-batch
    SGD": the centers get the gradient of the center term and the model's optimizer
    updates them with the model's learning rate.
Centers start at 0. Default lambda = 0.003 (Wen et al.'s face-recognition value).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from .base import ClassificationLoss
from .hypersphere_functional import center_index, class_sums, squared_distance_to_centers


def center_penalty(features: Tensor, labels: Tensor, centers: Tensor, weight: float) -> Tensor:
    """lambda / (2 m) * sum over foreground RoIs of ||f_i - c_{y_i}||^2 (eq. 2); grads reach both."""
    index, has_center = center_index(labels, 1)
    dist_sq = squared_distance_to_centers(features, centers, index)
    m = has_center.sum().clamp(min=1).to(dist_sq.dtype)
    return weight / (2.0 * m) * (dist_sq * has_center.to(dist_sq.dtype)).sum()


def wen_center_step(centers: Tensor, sums: Tensor, counts: Tensor) -> Tensor:
    """Wen et al.'s Delta c_j = sum_{y_i = j} (c_j - f_i) / (1 + n_j) = (n_j c_j - F_j) / (1 + n_j)."""
    return (counts[:, None] * centers - sums) / (1.0 + counts[:, None])


class CenterLoss(ClassificationLoss):
    """CE + lambda * center penalty (eqs. 2-3), learnable class centers for the C foreground classes.

    Args:
        num_classes: C. feature_dim: d.
        weight: lambda of eq. 3.
        alpha: Wen et al.'s center learning rate; None trains the centers by the optimizer.
    """

    name = "cl"
    float32_state = ("centers",)

    def __init__(self, num_classes: int, feature_dim: int, weight: float = 0.003, alpha: Optional[float] = 0.5) -> None:
        super().__init__()
        if alpha is not None and not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1] (or None), got {alpha}")
        self.num_classes = num_classes
        self.feature_dim = feature_dim
        self.weight = float(weight)
        self.alpha = None if alpha is None else float(alpha)
        self.centers = nn.Parameter(torch.zeros(num_classes, feature_dim), requires_grad=alpha is None)

    def extra_losses(self, features: Tensor, labels: Tensor, rois_per_image=None) -> dict[str, Tensor]:
        if not self.training:
            return {}
        with torch.autocast(device_type=features.device.type, enabled=False):
            features = features.flatten(start_dim=1).float()
            if self.alpha is None:
                return {"loss_center": center_penalty(features, labels, self.centers, self.weight)}
            # the penalty uses this step's centers c^t; the update to c^{t+1} follows (Wen et al., Alg. 1)
            penalty = center_penalty(features, labels, self.centers.detach().clone(), self.weight)
            if self.is_training_step():  # a validation-loss pass leaves the centers alone
                self.update(features, labels)
        return {"loss_center": penalty}

    @torch.no_grad()
    def update(self, features: Tensor, labels: Tensor) -> None:
        """Wen et al.'s center step from this step's foreground RoIs, summed over ranks."""
        sums, counts = class_sums(features, labels, self.num_classes, 1)
        sums, counts = self.sum_over_ranks(sums, counts)
        self.centers.sub_(self.alpha * wen_center_step(self.centers, sums, counts))

    def extra_repr(self) -> str:
        rule = "optimizer" if self.alpha is None else f"Wen et al., alpha={self.alpha}"
        return f"num_classes={self.num_classes}, feature_dim={self.feature_dim}, lambda={self.weight}, centers: {rule}"
