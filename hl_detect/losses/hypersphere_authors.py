"""``hl_authors_code``: the hypersphere loss exactly as the authors' detection script trains it.

Shapes: N images, R_i sampled RoIs of image i (R = sum R_i), d feature size, C foreground
classes, K = C + 1 centers (background has one, row 0).

A reproduction of ``faster_rcnn_HL/nets/frcnn_training.py`` (``get_center_momentum``,
``gCL`` and ``FasterRCNNTrainer.forward``) of github.com/TCCofWANG/Hypersphere_loss, the
code behind Table VIII. What that script computes, per training step:
  - its ``nCenter`` is a zero [K, d] tensor that the caller passes in and never gets back,
    so nothing carries over between steps (no EWMA memory across batches);
  - images are visited in order; for image i the loop re-assigns ``nCenter``:
      first image (all centers zero):  S_k = sum_{y_j = k} f_j
      later images (centers u = the previous image's unit centers, C = r u):
          v_j = phi C_{y_j} + (1 - phi) f_j              (eq. 15 without bias correction)
          S_k = sum_{y_j = k} ( v_j - beta (sum_l C_l - C_k) / (K - 1) )     (eq. 16)
      u_k = S_k / ||S_k||  (``renorm(2, 0, 1e-5) * 1e5``; a class absent from the image
      gets a zero center; background included)
  - image i's penalty uses its own new centers r u (``gCL``):
        dists_j = ||f_j - r u_{y_j}||;  indicate1_j = 1(dists_j > eps * r) * dists_j
        lambda * sum_j (indicate1_j * dists_j)^2 / (2 R_i d)
          = lambda * sum_j 1(dists_j > eps * r) ||f_j - r u_{y_j}||^4 / (2 R_i d)
    a QUARTIC penalty (``power=4``; eq. 17 as printed squares), with the strict ``>`` of
    the script; a = r, so the dead zone is eps * r = 2.0; every RoI, background included;
  - the step's loss averages the per-image terms over the N images.
Centers get no gradient (``get_center_momentum`` runs under no_grad). The warm start
(CE only for ``warmup_steps``) and the validation-pass rule are HypersphereLoss's; the
script itself has none (``train.py``: ``Freeze_Epoch = 0``, HL from the first step; it
resumes a trained ``ep050`` checkpoint instead), so the default here is 0, and a run that
trains from scratch sets one (our configs pass ``warmup_epochs``). The default lambda is
``train.py``'s 0.003 (``--loss_weight``); ``gCL``'s own default and the paper's is 0.002.
The ``centers`` buffer keeps the last image's r u for the TensorBoard diagnostics; it plays
no part in the next step. tests/core/test_hl_authors_port.py checks all of this against a
literal, line-by-line port of ``get_center_momentum`` + ``gCL`` (values and gradients).
"""
from __future__ import annotations

import torch
from torch import Tensor

from .hypersphere import HypersphereLoss
from .hypersphere_functional import class_sums, hypersphere_penalty


def authors_image_centers(features: Tensor, labels: Tensor, previous: Tensor, radius: float, beta: float,
                          phi: float) -> Tensor:
    """The unit centers [K, d] the script computes from one image's RoIs (``get_center_momentum``)."""
    k = previous.shape[0]
    sums, counts = class_sums(features, labels, k, label_offset=0)
    c = radius * previous
    separation = (c.sum(dim=0, keepdim=True) - c) / (k - 1)
    momentum = phi * counts[:, None] * c + (1.0 - phi) * sums - counts[:, None] * beta * separation
    # the script branches on torch.all(nCenter == 0); decided on the device here (no host sync)
    s = torch.where(previous.eq(0).all(), sums, momentum)
    return s.renorm(2, 0, 1e-5).mul(1e5)


class AuthorsCodeHypersphereLoss(HypersphereLoss):
    """The authors' detection HL (see the module docstring); ``loss_hypersphere``.

    Args: as HypersphereLoss; ``beta`` is the script's ``sep_weight``, ``phi`` its
    ``beta`` (0.99), ``epsilon`` its ``rho``, ``weight`` its ``loss_weight`` (default
    0.003, ``train.py``'s). The penalty is always the script's quartic one.
    """

    name = "hl_authors_code"

    def __init__(self, num_classes: int, feature_dim: int, radius: float = 40.0, weight: float = 0.003,
                 beta: float = 0.1, epsilon: float = 0.05, phi: float = 0.99, warmup_steps: int = 0) -> None:
        super().__init__(num_classes, feature_dim, radius=radius, weight=weight, beta=beta, epsilon=epsilon, phi=phi,
                         warmup_steps=warmup_steps, update_every=1, background_center=True, normalize_by="elements",
                         power=4)
        self.sphere_radius = self.radius  # the script's alpha = 40 = r, not the cap-area a

    def extra_losses(self, features: Tensor, labels: Tensor, rois_per_image=None) -> dict[str, Tensor]:
        if not self.training:
            return {}
        features = features.flatten(start_dim=1)
        training_step = self.is_training_step()
        in_warmup, _ = self.schedule(training_step)
        if in_warmup:
            return {"loss_hypersphere": features[:0].sum()}
        sizes = list(rois_per_image) if rois_per_image else [features.shape[0]]
        penalties = []
        with torch.autocast(device_type=features.device.type, enabled=False):
            unit = features.new_zeros(self.centers.shape, dtype=torch.float32)  # nCenter, zeros every step
            for f, y in zip(features.float().split(sizes), labels.split(sizes)):
                unit = authors_image_centers(f.detach(), y, unit, self.radius, self.beta, self.phi)
                penalties.append(hypersphere_penalty(f, y, self.radius * unit, self.dead_zone, self.weight,
                                                     label_offset=0, normalize_by="elements", power=4))
            if training_step:
                self.centers.copy_(self.radius * unit)
        return {"loss_hypersphere": torch.stack(penalties).mean()}

    def extra_repr(self) -> str:
        return (f"num_classes={self.num_classes}, feature_dim={self.feature_dim}, r={self.radius}, "
                f"lambda={self.weight}, sep_weight={self.beta}, rho={self.epsilon}, a=r={self.sphere_radius}, "
                f"phi={self.phi}, warmup_steps={self.warmup_steps}, per-image centers, quartic penalty, numel normalization")
