"""ArcFace: target logit s cos(theta + m) (with the theta + m > pi fall-back), finite gradients."""
import math

import torch
import torch.nn.functional as F
from torch.testing import assert_close

from hl_detect.losses import ArcFaceLoss, NormalizedLinear
from loss_references import cosine_table, small_problem


def hand_target(c, m):
    theta = math.acos(max(-1.0, min(1.0, c)))
    return math.cos(theta + m) if theta + m <= math.pi else c - m * math.sin(m)


def test_arcface_logits_match_hand_computation():
    features, weight, labels = small_problem()
    features[5] = -weight[0]  # theta = pi for a background RoI: the fall-back branch
    cos = cosine_table(features, weight)
    layer = NormalizedLinear(4, 4, scale=16.0).double()
    layer.weight.data.copy_(weight)
    loss = ArcFaceLoss(num_classes=3, feature_dim=4, scale=16.0, margin=0.5)
    out = loss.training_logits(layer(features), features, labels)
    expected = [[16.0 * (hand_target(c, 0.5) if j == y else c) for j, c in enumerate(row)] for row, y in zip(cos, labels.tolist())]
    assert_close(out, torch.tensor(expected, dtype=torch.float64), check_dtype=False)
    assert out[5, 0] < 16.0 * cos[5][0]  # the margin still lowers the target logit at theta = pi


def test_arcface_gradient_finite_at_zero_angle():
    features, weight, labels = small_problem()
    features = features.clone()
    features[1] = 3.0 * weight[1]  # theta = 0 for its target class
    features.requires_grad_()
    layer = NormalizedLinear(4, 4, scale=16.0).double()
    layer.weight.data.copy_(weight)
    loss = ArcFaceLoss(num_classes=3, feature_dim=4, scale=16.0, margin=0.5)
    F.cross_entropy(loss.training_logits(layer(features), features, labels), labels).backward()
    assert torch.isfinite(features.grad).all() and torch.isfinite(layer.weight.grad).all()
