"""Constrained center loss: per-batch eq. 9 centers on the radius-r sphere, eq. 7 penalty."""
import math

import torch
from torch.testing import assert_close

from hl_detect.losses import ConstrainedCenterLoss
from loss_references import small_problem


def test_centers_are_scaled_class_means_and_penalty_matches():
    features, _, labels = small_problem()
    features = features.float().requires_grad_()
    loss = ConstrainedCenterLoss(num_classes=4, feature_dim=4, radius=5.0, weight=0.2).train()
    kept = torch.tensor([0.0, 0.0, 5.0, 0.0])
    loss.centers[3] = kept  # class 4 is absent from the batch: its center stays
    penalty = loss.extra_losses(features, labels)["loss_center"]
    expected_centers = []
    for k in range(1, 5):
        rows = [f for f, y in zip(features.detach().tolist(), labels.tolist()) if y == k]
        if not rows:
            expected_centers.append(kept.tolist())
            continue
        mean = [sum(col) / len(rows) for col in zip(*rows)]
        norm = math.sqrt(sum(x * x for x in mean))
        expected_centers.append([5.0 * x / norm for x in mean])
    assert_close(loss.centers, torch.tensor(expected_centers))
    terms = [sum((a - b) ** 2 for a, b in zip(f, expected_centers[y - 1]))
             for f, y in zip(features.detach().tolist(), labels.tolist()) if y > 0]
    assert_close(penalty.item(), 0.2 / (2 * len(terms)) * sum(terms), rtol=1e-5, atol=1e-6)
    penalty.backward()
    assert features.grad[labels == 0].abs().sum() == 0  # background RoIs: no center, no gradient


def test_warm_start_is_ce_only():
    loss = ConstrainedCenterLoss(num_classes=2, feature_dim=3, warmup_steps=1).train()
    out = loss.extra_losses(torch.randn(4, 3), torch.tensor([0, 1, 2, 1]))
    assert set(out) == {"loss_center"} and out["loss_center"].item() == 0.0
    assert loss.centers.abs().sum() == 0
