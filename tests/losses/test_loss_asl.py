"""A-Softmax (SphereFace): ||f|| (lambda cos + psi) / (1 + lambda), psi piecewise, lambda annealed."""
import math

import torch
from torch.testing import assert_close

from hl_detect.losses import ASoftmaxLoss, NormalizedLinear
from loss_references import cosine_table, small_problem


def hand_psi(c, m):
    theta = math.acos(max(-1.0, min(1.0, c)))
    k = min(int(m * theta // math.pi), m - 1)
    return (-1) ** k * math.cos(m * theta) - 2 * k


def test_asl_logits_match_hand_computation_and_lambda_anneals():
    features, weight, labels = small_problem()
    cos = cosine_table(features, weight)
    norms = [math.sqrt(sum(x * x for x in f)) for f in features.tolist()]
    layer = NormalizedLinear(4, 4, normalize_features=False).double()
    layer.weight.data.copy_(weight)
    loss = ASoftmaxLoss(num_classes=3, feature_dim=4, margin=4)
    for step, lam in ((0, 1000.0), (10, 1000.0 / (1 + 0.12 * 10)), (10**6, 5.0)):
        loss.num_steps.fill_(step)
        out = loss.training_logits(layer(features), features, labels)
        expected = [[n * ((lam * c + hand_psi(c, 4)) / (1 + lam) if j == y else c) for j, c in enumerate(row)]
                    for row, n, y in zip(cos, norms, labels.tolist())]
        assert_close(out, torch.tensor(expected, dtype=torch.float64), check_dtype=False)
        assert int(loss.num_steps) == step + 1
    assert "num_steps" in loss.state_dict()


def test_psi_is_continuous_and_decreasing():
    loss = ASoftmaxLoss(num_classes=3, feature_dim=4, lambda_min=0.0, base=0.0)  # lambda = 0: pure psi
    theta = torch.linspace(0.0, math.pi, 2001, dtype=torch.float64)
    psi = loss.target_cosine(torch.cos(theta))
    assert (psi[1:] <= psi[:-1] + 1e-9).all()
    assert psi[0] == 1.0 and abs(psi[-1] + 7.0) < 1e-6  # psi(pi) = -2m + 1 for m = 4
