"""CosFace: target logit s (cos - m), others s cos; background on/off; gradients."""
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from hl_detect.losses import CosFaceLoss, NormalizedLinear
from loss_references import cosine_table, small_problem


def hand_logits(features, weight, labels, s, m, background=True):
    cos = cosine_table(features, weight)
    return torch.tensor(
        [[s * (c - m) if j == y and (background or y > 0) else s * c for j, c in enumerate(row)]
         for row, y in zip(cos, labels.tolist())],
        dtype=torch.float64,
    )


def test_cosface_logits_match_hand_computation():
    features, weight, labels = small_problem()
    layer = NormalizedLinear(4, 4, scale=10.0).double()
    layer.weight.data.copy_(weight)
    loss = CosFaceLoss(num_classes=3, feature_dim=4, scale=10.0, margin=0.35)
    out = loss.training_logits(layer(features), features, labels)
    assert_close(out, hand_logits(features, weight, labels, 10.0, 0.35), check_dtype=False)
    loss = CosFaceLoss(num_classes=3, feature_dim=4, scale=10.0, margin=0.35, margin_on_background=False)
    out = loss.training_logits(layer(features), features, labels)
    assert_close(out, hand_logits(features, weight, labels, 10.0, 0.35, background=False), check_dtype=False)


def test_cosface_gradient_matches_direct_formula():
    features, weight, labels = small_problem()
    f1, f2 = features.clone().requires_grad_(), features.clone().requires_grad_()
    layer = NormalizedLinear(4, 4, scale=8.0).double()
    layer.weight.data.copy_(weight)
    loss = CosFaceLoss(num_classes=3, feature_dim=4, scale=8.0, margin=0.2)
    F.cross_entropy(loss.training_logits(layer(f1), f1, labels), labels).backward()
    # reference: s * (W_hat f_hat - m * onehot), straight from the definition
    direct = 8.0 * (F.normalize(f2, dim=1) @ F.normalize(weight, dim=1).t() - 0.2 * F.one_hot(labels, 4))
    F.cross_entropy(direct, labels).backward()
    assert_close(f1.grad, f2.grad)
