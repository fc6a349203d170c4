"""HL's strength: the two normalizations, the authors' detection loss, the grad-ratio diagnostic, cosface+hl."""
import copy

import pytest
import torch
import torch.nn.functional as F
from torchvision.models.detection.roi_heads import RoIHeads

from hl_detect import HypersphereLoss, convert_to_hypersphere
from hl_detect.losses import AuthorsCodeHypersphereLoss, ComposedLoss, build_classification_loss, hypersphere_penalty
from hl_detect.roi_heads import extra_to_ce_grad_ratio

from penalty_problems import random_problem, slow_sum
from test_roi_heads import mobilenet, run_train
from tiny_detectors import make_batch


def problem(seed=0, rows=24, dim=6, classes=4):
    return random_problem(torch.Generator().manual_seed(seed), rows, dim, classes)


@pytest.mark.parametrize("dead_zone", [0.0, 4.0])
def test_foreground_and_elements_normalizations_against_hand_sums(dead_zone):
    features, labels, centers = problem()
    total, m = slow_sum(features, labels, centers, dead_zone)
    rows, dim = features.shape
    fg = hypersphere_penalty(features, labels, centers, dead_zone, 0.5, normalize_by="foreground")
    el = hypersphere_penalty(features, labels, centers, dead_zone, 0.5, normalize_by="elements")
    assert fg.item() == pytest.approx(0.5 * total / (2 * m), rel=1e-5)
    # the authors' code: divided by 2 * R * d, background RoIs included in R
    assert el.item() == pytest.approx(0.5 * total / (2 * rows * dim), rel=1e-5)
    assert (fg / el).item() == pytest.approx(rows * dim / m, rel=1e-5)


def test_elements_gradient_is_the_scaled_foreground_one():
    features, labels, centers = problem(1)
    a = features.clone().requires_grad_()
    b = features.clone().requires_grad_()
    hypersphere_penalty(a, labels, centers, 0.0, 1.0, normalize_by="foreground").backward()
    hypersphere_penalty(b, labels, centers, 0.0, 1.0, normalize_by="elements").backward()
    m = int((labels > 0).sum())
    torch.testing.assert_close(b.grad * features.numel(), a.grad * m)


def test_module_option_and_bad_value():
    features, labels, _ = problem(2)
    loss = HypersphereLoss(4, 6, normalize_by="elements").train()
    assert "normalize_by=elements" in repr(loss)
    out = loss.extra_losses(features, labels)["loss_hypersphere"]
    expected = hypersphere_penalty(features, labels, loss.centers, loss.dead_zone, loss.weight, normalize_by="elements",
                                   power=4)  # the module's default
    torch.testing.assert_close(out, expected)
    with pytest.raises(ValueError, match="normalize_by"):
        HypersphereLoss(4, 6, normalize_by="batch")


# --- the authors' detection script: values and gradients against a literal port are in
# test_hl_authors_port.py; here its warm start and a detector step -------------------------------------

def test_authors_code_warm_start_and_detector_step(batch):
    loss = AuthorsCodeHypersphereLoss(4, 6, warmup_steps=1).train()
    f, y, _ = problem(3)
    assert loss.extra_losses(f, y, [12, 12])["loss_hypersphere"].item() == 0.0
    assert loss.extra_losses(f, y, [12, 12])["loss_hypersphere"].item() > 0.0
    model = convert_to_hypersphere(mobilenet(), "hl_authors_code")
    losses = run_train(model, *batch)
    assert losses["loss_hypersphere"].item() > 0 and torch.isfinite(sum(losses.values()))


# --- the strength diagnostic ------------------------------------------------------------------------------

def test_grad_ratio_against_closed_forms():
    g = torch.Generator().manual_seed(7)
    rows, dim, classes = 20, 5, 3
    f = (torch.randn(rows, dim, generator=g) * 2).requires_grad_()
    w, b = torch.randn(classes + 1, dim, generator=g), torch.randn(classes + 1, generator=g)
    y = torch.randint(0, classes + 1, (rows,), generator=g)
    centers = torch.randn(classes, dim, generator=g)
    ce = F.cross_entropy(f @ w.t() + b, y)
    hl = hypersphere_penalty(f, y, centers, 0.0, 0.3)
    ratio = extra_to_ce_grad_ratio(ce, {"loss_hypersphere": hl}, f)
    # dCE/df = (softmax - onehot) W / R ;  dHL/df_i = lambda/m (f_i - c_{y_i}) on foreground rows
    with torch.no_grad():
        p = torch.softmax(f @ w.t() + b, dim=1)
        g_ce = (p - F.one_hot(y, classes + 1).float()) @ w / rows
        fg = (y > 0).float()[:, None]
        g_hl = 0.3 / fg.sum() * fg * (f - centers[(y - 1).clamp(min=0)])
    assert ratio.item() == pytest.approx((g_hl.norm() / g_ce.norm()).item(), rel=1e-5)
    assert extra_to_ce_grad_ratio(ce, {}, f) is None


def test_grad_ratio_measured_in_the_detector_only_when_asked(batch):
    model = convert_to_hypersphere(mobilenet(), "hl", warmup_steps=1)
    heads = model.roi_heads
    heads.measure_grad_ratio = True
    run_train(model, *batch)
    assert heads.last_grad_ratio.item() == 0.0 and not heads.measure_grad_ratio  # warm start: no HL gradient
    run_train(model, *batch)
    assert heads.last_grad_ratio.item() == 0.0  # not asked: the old value stays
    heads.measure_grad_ratio = True
    losses = run_train(model, *batch)
    assert heads.last_grad_ratio.item() > 0
    sum(losses.values()).backward()  # the measurement kept the graph intact


# --- composition -------------------------------------------------------------------------------------------

def test_cosface_plus_hl_trains_a_step_and_evaluates_as_torchvision(batch):
    model = convert_to_hypersphere(mobilenet(), "cosface+hl", hl={"weight": 0.02, "normalize_by": "elements"})
    loss = model.roi_heads.cls_loss
    assert isinstance(loss, ComposedLoss) and loss.name == "cosface+hl"
    assert loss.parts["hl"].weight == 0.02 and loss.centers is loss.parts["hl"].centers
    images, targets = batch
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.01)
    losses = run_train(model, images, targets)
    assert {"loss_classifier", "loss_box_reg", "loss_hypersphere"} <= set(losses)
    # the margin is in the training logits: CE is larger than with the plain scaled cosines
    plain = convert_to_hypersphere(copy.deepcopy(mobilenet()), "cosface")
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if "cls_loss" not in k}, strict=False)
    assert losses["loss_classifier"].item() == pytest.approx(run_train(plain, images, targets)["loss_classifier"].item(), rel=1e-5)
    optimizer.zero_grad()
    sum(losses.values()).backward()
    optimizer.step()
    assert loss.parts["hl"].num_updates.item() == 1

    model.eval()
    stock = copy.deepcopy(model)
    stock.roi_heads.__class__ = RoIHeads  # torchvision's forward with the same modules
    with torch.no_grad():
        ours, theirs = model(images), stock(images)
    for a, b in zip(ours, theirs):
        for key in a:
            assert torch.equal(a[key], b[key]), key


def test_composition_rules():
    with pytest.raises(ValueError, match="both change"):
        build_classification_loss("cosface+arcface", 4, 8)
    with pytest.raises(ValueError, match="unknown classification loss 'nope'"):
        build_classification_loss("cosface+nope", 4, 8)
    with pytest.raises(TypeError, match="one dict per part"):
        build_classification_loss("cosface+hl", 4, 8, weight=0.1)
    both = build_classification_loss("hl+cl", 4, 8)
    f, y, _ = problem(4, dim=8)
    assert set(both.train().extra_losses(f, y)) == {"loss_hypersphere", "loss_center"}
