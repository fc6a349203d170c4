"""``MarginLoss``: the shared hook of the margin softmax losses (CosFace, ArcFace, A-Softmax).

Shapes: R sampled RoIs, d feature size, C + 1 classes (0 = background), logits [R, C + 1].

The predictor's classifier is a ``NormalizedLinear`` (``adapt_predictor``), so its logits
are ``scale_i * cos(theta_ij)``. In training, ``training_logits`` recovers the target cosine
cos(theta_{i,y_i}), replaces it by ``target_cosine(cos)`` (the one hook a subclass
overrides, pytorch-metric-learning style) and scales back; every other logit is unchanged.
torchvision's ``fastrcnn_loss`` then takes the cross-entropy of these logits.

Background (label 0) is an ordinary class of the (C + 1)-way softmax, as in torchvision
and the authors' code, so by default the margin is applied to background RoIs too;
``margin_on_background=False`` keeps the plain scaled cosine for them.
Inference never calls these hooks: the eval logits are the scaled cosines.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import ClassificationLoss
from .normalized_classifier import adapt_to_normalized


class MarginLoss(ClassificationLoss):
    """Normalized softmax with a margin on the target class; subclasses define ``target_cosine``.

    Args:
        num_classes: C, foreground classes (kept for the repr; the margin needs no count).
        feature_dim: d (kept for the repr).
        scale: s, the logit scale; ``None`` uses the feature norm ||f_i|| (A-Softmax).
        margin_on_background: apply the margin to background RoIs too (default True).
    """

    def __init__(self, num_classes: int, feature_dim: int, scale: float | None, margin_on_background: bool = True) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.feature_dim = feature_dim
        self.scale = None if scale is None else float(scale)
        self.margin_on_background = bool(margin_on_background)

    def adapt_predictor(self, predictor: nn.Module) -> nn.Module:
        if self.scale is None:
            return adapt_to_normalized(predictor, scale=1.0, normalize_features=False)
        return adapt_to_normalized(predictor, scale=self.scale, normalize_features=True)

    def target_cosine(self, cos: Tensor) -> Tensor:
        """The margin: the target class's cos(theta) [R] -> its training value [R]."""
        raise NotImplementedError

    def logit_scale(self, features: Tensor) -> Tensor:
        """[R, 1]: s, or ||f_i|| when ``scale`` is None (logits = ||f|| cos theta)."""
        if self.scale is None:
            return torch.linalg.vector_norm(features.float(), dim=1, keepdim=True)
        return features.new_full((features.shape[0], 1), self.scale, dtype=torch.float32)

    def training_logits(self, logits: Tensor, features: Tensor, labels: Tensor) -> Tensor:
        # margins in float32 even under autocast (acos/cos of half precision values is coarse)
        scale = self.logit_scale(features)
        logits = logits.float()
        cos_target = (logits.gather(1, labels[:, None]) / scale.clamp(min=1e-12)).clamp(-1.0, 1.0)
        target = scale * self.target_cosine(cos_target.squeeze(1))[:, None]
        if not self.margin_on_background:
            target = torch.where(labels[:, None] > 0, target, logits.gather(1, labels[:, None]))
        return logits.scatter(1, labels[:, None], target)

    def extra_repr(self) -> str:
        scale = "||f||" if self.scale is None else self.scale
        return f"num_classes={self.num_classes}, s={scale}, margin_on_background={self.margin_on_background}"
