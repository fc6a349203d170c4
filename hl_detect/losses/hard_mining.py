"""``hml``: the hard-mining loss, HML (Srivastava, Murali and Dubey, CVIP 2021, arXiv
1908.09747; the paper's ref. [31]).

Shapes: R sampled RoIs, logits [R, C + 1], labels [R] (0 = background).

HML is a wrapper around a base loss L_i (per RoI) that raises the loss of hard examples and
lowers it for easy ones:

    HM(L_i) = alpha * (beta L_i) * sigmoid(A * (beta L_i - B)),     loss = mean_i HM(L_i)

With the defaults alpha = 1.5, beta = 1.1, A = 35, B = 0.75 the sigmoid is a soft step at
L_i = B / beta = 0.68 (a target probability of about 0.5 under cross-entropy): an RoI the
classifier already gets right with some confidence contributes almost nothing, a hard one
contributes about alpha * beta = 1.65 times its base loss.

Source of the formula and of the defaults: the abstract of arXiv 1908.09747 describes the
wrapper; the equation and the four values are those of a public implementation named
``HardminingLoss`` (an ArcFace base, as in the paper's experiments) found by code search. The
arXiv HTML with the paper's own equations could not be read from where this was written,
so this is that implementation's form, not a form checked against the paper's text.

The base loss here is softmax cross-entropy (the first base loss of the paper); for HML
over ArcFace or CosFace logits, compose: ``--loss arcface+hml`` (the margin part shapes the
logits, HML reweights their per-RoI cross-entropy). Inference is untouched.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import ClassificationLoss


def hard_mining(base: Tensor, alpha: float = 1.5, beta: float = 1.1, a: float = 35.0, b: float = 0.75) -> Tensor:
    """Elementwise HM(L) = alpha * beta L * sigmoid(a * (beta L - b)) of per-sample losses L."""
    scaled = beta * base
    return alpha * scaled * torch.sigmoid(a * (scaled - b))


class HardMiningLoss(ClassificationLoss):
    """Cross-entropy per RoI, reweighted by ``hard_mining`` and averaged over the R RoIs."""

    name = "hml"

    def __init__(self, num_classes: int, feature_dim: int, alpha: float = 1.5, beta: float = 1.1,
                 a: float = 35.0, b: float = 0.75) -> None:
        super().__init__()
        if alpha <= 0 or beta <= 0 or a <= 0:
            raise ValueError(f"hml: alpha, beta and a must be positive, got {alpha}, {beta}, {a}")
        self.num_classes = num_classes
        self.alpha, self.beta, self.a, self.b = float(alpha), float(beta), float(a), float(b)

    def classifier_loss(self, logits: Tensor, labels: Tensor) -> Tensor:
        # at least float32 under autocast: the sigmoid step is steep (a = 35)
        logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
        per_roi = F.cross_entropy(logits, labels, reduction="none")
        if per_roi.numel() == 0:  # no RoIs: a mean of nothing would be NaN; keep the graph, value 0
            return logits.sum() * 0.0
        return hard_mining(per_roi, self.alpha, self.beta, self.a, self.b).mean()

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, alpha={self.alpha}, beta={self.beta}, a={self.a}, b={self.b}"
