"""The interface every box-classification loss implements for the RoIHeads plugin.

Shapes: R sampled RoIs of a training step, d box-head feature size, C foreground
classes (labels 0..C, 0 = background, torchvision's convention).

The RoIHeads plugin gives a loss three chances to act, all during training only:
  - ``adapt_predictor(predictor)`` once at conversion, to swap the classifier layer
    (e.g. a normalized one for CosFace/ArcFace); the default keeps it unchanged;
  - ``training_logits(logits, features, labels)`` between the predictor and
    torchvision's cross-entropy, to add margins; the default returns the logits;
  - ``extra_losses(features, labels)`` after torchvision's losses, returning named
    extra terms that are added to the loss dict (e.g. ``loss_hypersphere``).
Inference never calls any of them, so eval outputs stay torchvision's.
"""
from __future__ import annotations

from torch import Tensor, nn


class ClassificationLoss(nn.Module):
    """Base class: plain softmax cross-entropy, i.e. torchvision's loss unchanged."""

    #: short name used by configs and ``--loss``
    name = "softmax"

    def adapt_predictor(self, predictor: nn.Module) -> nn.Module:
        return predictor

    def training_logits(self, logits: Tensor, features: Tensor, labels: Tensor) -> Tensor:
        return logits

    def extra_losses(self, features: Tensor, labels: Tensor) -> dict[str, Tensor]:
        return {}


class SoftmaxLoss(ClassificationLoss):
    """``softmax``: torchvision's CE alone (the baseline of Tables VIII/IX)."""
