"""The penalty's power (eq. 17 squares, the authors' code is quartic): values against a slow
loop, the hand-written backward against autograd, the dead zone's comparison, the module option."""

import pytest
import torch

from hl_detect import HypersphereLoss
from hl_detect.losses.hypersphere_functional import hypersphere_penalty

from penalty_problems import random_problem, slow_sum


def problem(seed=0, rows=30, dim=7, classes=4):
    g = torch.Generator().manual_seed(seed)
    features, labels, centers = random_problem(g, rows, dim, classes, torch.float64)
    # a third of the RoIs close to their own center, so a dead zone of a few units catches some
    near = torch.arange(rows) % 3 == 0
    own = centers[(labels - 1).clamp(min=0)]
    features = torch.where(near[:, None], own + 0.5 * torch.randn(rows, dim, generator=g, dtype=torch.float64), features)
    return features, labels, centers


def slow_penalty(features, labels, centers, dead_zone, weight, power, normalize_by):
    """Python loop from the formulas: lambda/(2m) sum 1(beyond dead zone) dist^power."""
    total, fg = slow_sum(features, labels, centers, dead_zone, power)
    m = features.numel() if normalize_by == "elements" else max(fg, 1)
    return weight * total / (2 * m)


def autograd_penalty(features, labels, centers, dead_zone, weight, power, normalize_by):
    """The same penalty written with plain autograd ops (an independent backward)."""
    fg = labels >= 1
    own = centers[(labels - 1).clamp(min=0)]
    dist = (features - own).norm(dim=1)
    beyond = (dist > dead_zone) if power == 4 else (dist >= dead_zone)
    terms = torch.where(fg & beyond, dist**power, torch.zeros_like(dist))
    m = features.numel() if normalize_by == "elements" else fg.sum().clamp(min=1)
    return weight * terms.sum() / (2 * m)


@pytest.mark.parametrize("normalize_by", ["foreground", "elements"])
@pytest.mark.parametrize("power", [2, 4])
@pytest.mark.parametrize("dead_zone", [0.0, 4.5])
def test_value_against_slow_loop_and_gradient_against_autograd(power, normalize_by, dead_zone):
    features, labels, centers = problem(power + int(dead_zone))
    weight = 0.37
    ours_in = features.clone().requires_grad_()
    ours = hypersphere_penalty(ours_in, labels, centers, dead_zone, weight, normalize_by=normalize_by, power=power)
    assert ours.item() == pytest.approx(slow_penalty(features, labels, centers, dead_zone, weight, power, normalize_by),
                                        rel=1e-10)
    ref_in = features.clone().requires_grad_()
    ref = autograd_penalty(ref_in, labels, centers, dead_zone, weight, power, normalize_by)
    torch.testing.assert_close(ours, ref)
    ours.backward()
    ref.backward()
    torch.testing.assert_close(ours_in.grad, ref_in.grad)
    if dead_zone > 0:  # the dead zone really removed some rows from both value and gradient
        inside = (features - centers[(labels - 1).clamp(min=0)]).norm(dim=1) < dead_zone
        assert bool((inside & (labels >= 1)).any())
        assert ours_in.grad[inside].abs().sum() == 0


def test_quartic_gradient_by_finite_differences():
    features, labels, centers = problem(3, rows=6, dim=3)
    f = features.clone().requires_grad_()
    torch.autograd.gradcheck(lambda x: hypersphere_penalty(x, labels, centers, 0.5, 0.9, power=4), (f,))


def test_quartic_is_square_times_distance_squared():
    """One foreground RoI at distance D: the quartic value is D^2 times the square's."""
    centers = torch.zeros(1, 2, dtype=torch.float64)
    features = torch.tensor([[30.0, 40.0]], dtype=torch.float64)  # D = 50
    labels = torch.tensor([1])
    square = hypersphere_penalty(features, labels, centers, 0.0, 1.0, power=2)
    quartic = hypersphere_penalty(features, labels, centers, 0.0, 1.0, power=4)
    assert square.item() == pytest.approx(2500 / 2)
    assert quartic.item() == pytest.approx(2500**2 / 2)


def test_dead_zone_comparison_follows_the_reading():
    """Eq. 11 penalizes on the boundary (>=); the authors' gCL compares with >."""
    centers = torch.zeros(1, 2, dtype=torch.float64)
    features = torch.tensor([[3.0, 4.0]], dtype=torch.float64)  # exactly at distance 5
    labels = torch.tensor([1])
    assert hypersphere_penalty(features, labels, centers, 5.0, 1.0, power=2).item() == pytest.approx(12.5)
    assert hypersphere_penalty(features, labels, centers, 5.0, 1.0, power=4).item() == 0.0


def test_module_option_config_path_and_bad_values():
    loss = HypersphereLoss(4, 6, power=4).train()
    assert loss.power == 4 and "power=4" in repr(loss)
    f, y, _ = problem(1, dim=6)
    out = loss.extra_losses(f.float(), y)["loss_hypersphere"]
    expected = hypersphere_penalty(f.float(), y, loss.centers, loss.dead_zone, loss.weight, normalize_by="elements", power=4)
    torch.testing.assert_close(out, expected)
    default = HypersphereLoss(4, 6)  # the authors' quartic at their lambda: protocol 2's choice (configs/base.yaml)
    assert (default.power, default.weight, default.normalize_by) == (4, 0.003, "elements")
    with pytest.raises(ValueError, match="power"):
        HypersphereLoss(4, 6, power=3)
    with pytest.raises(ValueError, match="power"):
        hypersphere_penalty(f, y, torch.zeros(4, 6, dtype=torch.float64), 0.0, 1.0, power=1)


def test_config_set_reaches_the_loss():
    from hl_detect.run.config import load_config
    from hl_detect.run.load import build_model_from_config

    from hl_detect.run.config import dataset_config_path
    cfg = load_config([dataset_config_path("demo")], ["loss=hl", "loss_options.hl.power=4", "input_size=64"])
    model = build_model_from_config(cfg, num_classes=cfg["data"]["options"]["num_classes"])
    assert model.roi_heads.cls_loss.power == 4


@pytest.mark.parametrize("kwargs, match", [
    ({"radius": 0.0}, "radius"), ({"radius": -40.0}, "radius"),
    ({"epsilon": -0.05}, "epsilon"), ({"epsilon": 1.0}, "epsilon"),
    ({"weight": -0.1}, "weight"), ({"weight": float("nan")}, "finite"), ({"beta": float("inf")}, "finite"),
])
def test_meaningless_hyperparameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HypersphereLoss(4, 6, **kwargs)


@pytest.mark.parametrize("classes", [3, 50])
def test_an_empty_roi_batch_is_a_no_op(classes):
    """No RoI at all (K <= R and K > R paths): zero penalty, no center moves, no error."""
    loss = HypersphereLoss(classes, 6).train()
    f = torch.zeros(0, 6, requires_grad=True)
    out = loss.extra_losses(f, torch.zeros(0, dtype=torch.int64))["loss_hypersphere"]
    assert out.item() == 0.0 and out.requires_grad
    assert loss.centers.abs().sum() == 0 and loss.class_updates.sum() == 0 and loss.num_updates.item() == 1
