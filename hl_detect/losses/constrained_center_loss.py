"""``ccl``: constrained center loss (Shi, Wang and Leung, TNNLS 2021; the paper's ref. [12]), eqs. 7-9.

Shapes: R sampled RoIs, d feature size, C foreground classes; ``centers`` [C, d] buffers.

    L = CE(logits, labels) + lambda / (2 m) * sum_{i: y_i >= 1} ||f_i - c_{y_i}||^2,  ||c_k|| = r   (eq. 7)

Alternating strategy of the paper, per mini-batch: first, under no_grad, every class k
present in the batch gets c_k = r * (class mean of f) / ||class mean|| (eq. 9 over the
mini-batch instead of the whole training set; absent classes keep their center); then the
centers are constants of the SGD step. Background RoIs (label 0) have no center and are not
in the sum; m is the number of foreground RoIs (the paper's N, as for HL, eq. 17).

This is exactly the hypersphere loss with phi = 0 (eq. 15 reduces to the batch sum),
beta = 0 (no separation term, eq. 16) and eps = 0 (no dead zone, eq. 11), so it reuses
``HypersphereLoss``: its buffers, DDP all-reduce of the class sums and warm start. The
warm start (``warmup_steps``, CE only) is kept so that CCL runs the same schedule as HL.
Defaults r = 40, lambda = 0.002 are the paper's HL values. The penalty is eq. 7's square,
pinned (``power=2``) so that HL's quartic default does not change CCL.
The term is reported as ``loss_center``.
"""
from __future__ import annotations

from torch import Tensor

from .hypersphere import HypersphereLoss


class ConstrainedCenterLoss(HypersphereLoss):
    name = "ccl"

    def __init__(self, num_classes: int, feature_dim: int, radius: float = 40.0, weight: float = 0.002,
                 warmup_steps: int = 0) -> None:
        # eq. 7 divides by the m foreground samples; kept as it was when HL's default moved to "elements"
        super().__init__(num_classes, feature_dim, radius=radius, weight=weight, beta=0.0, epsilon=0.0, phi=0.0,
                         warmup_steps=warmup_steps, update_every=1, background_center=False,
                         normalize_by="foreground", power=2)

    def extra_losses(self, features: Tensor, labels: Tensor, rois_per_image=None) -> dict[str, Tensor]:
        losses = super().extra_losses(features, labels, rois_per_image)
        if not losses:
            return {}
        return {"loss_center": losses["loss_hypersphere"]}

    def extra_repr(self) -> str:
        return (f"num_classes={self.num_classes}, feature_dim={self.feature_dim}, r={self.radius}, "
                f"lambda={self.weight}, warmup_steps={self.warmup_steps}")
