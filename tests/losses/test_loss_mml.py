"""MML (AMCM-Softmax): target logit s (cos(theta + m1) - m2); ArcFace and CosFace as its special cases."""
import math

import torch
import torch.nn.functional as F
from torch.testing import assert_close

from hl_detect.losses import ArcFaceLoss, CosFaceLoss, AMCMSoftmaxLoss, NormalizedLinear, build_classification_loss
from loss_references import cosine_table, small_problem


def hand_target(c, m1, m2):
    theta = math.acos(max(-1.0, min(1.0, c)))
    angular = math.cos(theta + m1) if theta + m1 <= math.pi else c - m1 * math.sin(m1)
    return angular - m2


def layer_for(weight, scale):
    layer = NormalizedLinear(4, 4, scale=scale).double()
    layer.weight.data.copy_(weight)
    return layer


def test_mml_logits_match_hand_computation():
    features, weight, labels = small_problem()
    features[5] = -weight[0]  # theta = pi: ArcFace's fall-back branch, then the cosine margin
    cos = cosine_table(features, weight)
    loss = AMCMSoftmaxLoss(num_classes=3, feature_dim=4, scale=12.0, angular_margin=0.3, cosine_margin=0.2)
    out = loss.training_logits(layer_for(weight, 12.0)(features), features, labels)
    expected = [[12.0 * (hand_target(c, 0.3, 0.2) if j == y else c) for j, c in enumerate(row)]
                for row, y in zip(cos, labels.tolist())]
    assert_close(out, torch.tensor(expected, dtype=torch.float64), check_dtype=False)


def test_mml_without_background_margin_keeps_background_logits():
    features, weight, labels = small_problem()
    cos = cosine_table(features, weight)
    loss = AMCMSoftmaxLoss(3, 4, scale=12.0, margin_on_background=False)
    out = loss.training_logits(layer_for(weight, 12.0)(features), features, labels)
    for i, y in enumerate(labels.tolist()):
        want = 12.0 * (cos[i][y] if y == 0 else hand_target(cos[i][y], 0.3, 0.2))
        assert abs(out[i, y].item() - want) < 1e-5  # margins in float32


def test_mml_reduces_to_arcface_and_cosface():
    features, weight, labels = small_problem()
    layer = layer_for(weight, 16.0)
    logits = layer(features)
    arc = ArcFaceLoss(3, 4, scale=16.0, margin=0.4).training_logits(logits, features, labels)
    assert_close(AMCMSoftmaxLoss(3, 4, scale=16.0, angular_margin=0.4, cosine_margin=0.0)
                 .training_logits(logits, features, labels), arc)
    cosface = CosFaceLoss(3, 4, scale=16.0, margin=0.35).training_logits(logits, features, labels)
    assert_close(AMCMSoftmaxLoss(3, 4, scale=16.0, angular_margin=0.0, cosine_margin=0.35)
                 .training_logits(logits, features, labels), cosface)


def test_mml_gradient_is_finite_at_zero_angle_and_defaults_are_documented():
    features, weight, labels = small_problem()
    features = features.clone()
    features[1] = 2.0 * weight[1]
    features.requires_grad_()
    layer = layer_for(weight, 16.0)
    loss = AMCMSoftmaxLoss(3, 4, scale=16.0)
    F.cross_entropy(loss.training_logits(layer(features), features, labels), labels).backward()
    assert torch.isfinite(features.grad).all() and torch.isfinite(layer.weight.grad).all()
    built = build_classification_loss("mml", 20, 2048)
    assert (built.scale, built.angular_margin, built.cosine_margin) == (64.0, 0.3, 0.2)
