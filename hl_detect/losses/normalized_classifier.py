"""``NormalizedLinear``: the box classifier of the normalized-softmax losses (CosFace, ArcFace, A-Softmax).

Shapes: R RoIs, d feature size, C + 1 classes (0 = background). The layer keeps
torchvision's attribute name: ``adapt_to_normalized`` swaps ``predictor.cls_score`` in
place, so the state_dict key stays ``box_predictor.cls_score.weight`` (no bias: the
normalized classifiers have none) and ``bbox_pred`` is the very same module, weights kept.

    logits = scale * cos(theta_j)      with ||w_j|| = 1 and ||f|| = 1   (CosFace/ArcFace, s * cos)
    logits = ||f|| * cos(theta_j)      with ||w_j|| = 1 only           (A-Softmax's "modified softmax")

These are the inference logits, which torchvision's post-processing turns into softmax
scores; margins are added to the target logit only in training (``margin.MarginLoss``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class NormalizedLinear(nn.Linear):
    """``scale * normalize(W) @ normalize(f)`` (or ``normalize(W) @ f``); an nn.Linear without bias."""

    def __init__(self, in_features: int, out_features: int, scale: float = 1.0, normalize_features: bool = True) -> None:
        super().__init__(in_features, out_features, bias=False)
        self.scale = float(scale)
        self.normalize_features = bool(normalize_features)

    def forward(self, x: Tensor) -> Tensor:
        if self.normalize_features:
            x = F.normalize(x, dim=1)
        return self.scale * F.linear(x, F.normalize(self.weight, dim=1))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, scale={self.scale}, normalize_features={self.normalize_features}"


def adapt_to_normalized(predictor: nn.Module, scale: float = 1.0, normalize_features: bool = True) -> nn.Module:
    """Replace ``predictor.cls_score`` (an nn.Linear) by a NormalizedLinear in place; returns the predictor.

    The new layer starts from the old weight rows (their directions are all it keeps), so
    a converted, already trained classifier starts where it was; ``bbox_pred`` is untouched.
    """
    old = getattr(predictor, "cls_score", None)
    if not isinstance(old, nn.Linear):
        raise TypeError(
            f"a normalized classifier needs a box predictor with an nn.Linear `cls_score` (torchvision's "
            f"FastRCNNPredictor); got {type(predictor).__name__}"
        )
    new = NormalizedLinear(old.in_features, old.out_features, scale, normalize_features)
    new = new.to(device=old.weight.device, dtype=old.weight.dtype)
    new.weight.data.copy_(old.weight.data)
    predictor.cls_score = new
    return predictor


def adapt_to_linear(predictor: nn.Module) -> nn.Module:
    """Undo ``adapt_to_normalized``: ``cls_score`` becomes torchvision's nn.Linear (with bias) again.

    The weight rows are the learned class directions ``normalize(W)`` and the bias is 0, so
    each class keeps its direction but the logits are ``w_j . f`` instead of
    ``s cos(theta_j)``: scores differ from the margin model's, and the layer is a starting
    point for fine-tuning. Its state_dict has torchvision's keys (``weight`` and ``bias``),
    so a stock checkpoint loads into it. A predictor that is not normalized is returned as is.
    """
    old = getattr(predictor, "cls_score", None)
    if not isinstance(old, NormalizedLinear):
        return predictor
    new = nn.Linear(old.in_features, old.out_features).to(device=old.weight.device, dtype=old.weight.dtype)
    with torch.no_grad():
        new.weight.copy_(F.normalize(old.weight, dim=1))
        new.bias.zero_()
    predictor.cls_score = new
    return predictor
