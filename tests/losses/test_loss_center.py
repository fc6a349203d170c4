"""Center loss: eq. 2 penalty over foreground RoIs, Wen et al.'s center step, or optimizer-trained centers."""
import torch
from torch.testing import assert_close

from hl_detect.losses import CenterLoss
from loss_references import small_problem


def hand_penalty(features, labels, centers, lam):
    terms = [sum((a - b) ** 2 for a, b in zip(f, centers[y - 1])) for f, y in zip(features.tolist(), labels.tolist()) if y > 0]
    return lam / (2 * len(terms)) * sum(terms)


def test_penalty_gradient_and_wen_update():
    features, _, labels = small_problem()
    features = features.float().requires_grad_()
    loss = CenterLoss(num_classes=3, feature_dim=4, weight=0.1, alpha=0.5).train()
    loss.centers.data.copy_(torch.randn(3, 4))
    before = loss.centers.detach().clone()
    penalty = loss.extra_losses(features, labels)["loss_center"]
    assert_close(penalty.item(), hand_penalty(features.detach(), labels, before.tolist(), 0.1), rtol=1e-5, atol=1e-6)
    penalty.backward()
    m = int((labels > 0).sum())
    for i, y in enumerate(labels.tolist()):  # d/df_i = lambda/m (f_i - c_y) on foreground, 0 on background
        expected = 0.1 / m * (features[i].detach() - before[y - 1]) if y > 0 else torch.zeros(4)
        assert_close(features.grad[i], expected)
    for j in range(3):  # Wen et al.: c_j -= alpha * sum_{y_i = j} (c_j - f_i) / (1 + n_j)
        rows = [features[i].detach() for i, y in enumerate(labels.tolist()) if y == j + 1]
        delta = sum((before[j] - f for f in rows), torch.zeros(4)) / (1 + len(rows))
        assert_close(loss.centers.detach()[j], before[j] - 0.5 * delta)
    assert not loss.centers.requires_grad and "centers" in loss.state_dict()


def test_optimizer_trained_centers_get_eq2_gradient():
    features, _, labels = small_problem()
    features = features.float()
    loss = CenterLoss(num_classes=3, feature_dim=4, weight=0.1, alpha=None).train()
    loss.extra_losses(features, labels)["loss_center"].backward()
    m = int((labels > 0).sum())
    for j in range(3):  # d/dc_j = lambda/m sum_{y_i = j} (c_j - f_i), c = 0
        rows = [features[i] for i, y in enumerate(labels.tolist()) if y == j + 1]
        assert_close(loss.centers.grad[j], -0.1 / m * sum(rows, torch.zeros(4)))


def test_no_foreground_is_a_graph_zero_and_eval_adds_nothing():
    loss = CenterLoss(num_classes=3, feature_dim=4).train()
    features = torch.randn(5, 4, requires_grad=True)
    penalty = loss.extra_losses(features, torch.zeros(5, dtype=torch.int64))["loss_center"]
    assert penalty.item() == 0.0 and penalty.requires_grad
    assert loss.centers.abs().sum() == 0  # no foreground, no center moves
    assert loss.eval().extra_losses(features, torch.ones(5, dtype=torch.int64)) == {}
