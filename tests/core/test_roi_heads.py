"""The RoIHeads plugin against torchvision itself: parity, eval identity, scripting, branches."""
import copy

import pytest
import torch
import torchvision
from torchvision.models import detection

import hl_detect
from hl_detect import HypersphereRoIHeads, convert_to_hypersphere, revert_to_torchvision

from tiny_detectors import SMALL, make_batch


def mobilenet(num_classes=5, **kw):
    torch.manual_seed(0)
    return detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, num_classes=num_classes, **{**SMALL, **kw}
    )


def run_train(model, images, targets, seed=1):
    model.train()
    torch.manual_seed(seed)  # torchvision's RoI sampler draws from the global generator
    return model(images, targets)


def grads(model):
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("mode", ["lambda0", "warmup"])
def test_parity_with_torchvision_when_penalty_off(mode, batch):
    stock = mobilenet()
    ours = convert_to_hypersphere(copy.deepcopy(stock), "hl", **({"weight": 0.0} if mode == "lambda0" else {"warmup_steps": 5}))
    images, targets = batch
    expected = run_train(stock, images, targets)
    got = run_train(ours, images, targets)
    assert set(got) == set(expected) | {"loss_hypersphere"}
    for key in expected:
        assert torch.equal(got[key], expected[key]), key
    assert got["loss_hypersphere"].item() == 0.0
    sum(expected.values()).backward()
    sum(got.values()).backward()
    g_stock, g_ours = grads(stock), grads(ours)
    assert g_stock.keys() == g_ours.keys()
    for name in g_stock:
        assert torch.equal(g_stock[name], g_ours[name]), name


def test_torchvision_losses_unchanged_with_penalty_on(batch):
    stock = mobilenet()
    ours = convert_to_hypersphere(copy.deepcopy(stock), "hl")
    images, targets = batch
    expected, got = run_train(stock, images, targets), run_train(ours, images, targets)
    for key in expected:
        assert torch.equal(got[key], expected[key]), key
    assert got["loss_hypersphere"].item() > 0
    assert ours.roi_heads.cls_loss.num_updates.item() == 1


def test_penalty_uses_the_sampled_rois(batch):
    """Recompute loss_hypersphere from torchvision's own sampling and box head."""
    model = convert_to_hypersphere(mobilenet(), "hl", weight=1.0, epsilon=0.0)
    images, targets = batch
    got = run_train(model, images, targets)["loss_hypersphere"]
    heads = model.roi_heads
    model.train()
    torch.manual_seed(1)
    imgs, tgts = model.transform(images, targets)
    feats = model.backbone(imgs.tensors)
    proposals, _ = model.rpn(imgs, feats, tgts)
    proposals, _, labels, _ = heads._torchvision_select_training_samples(proposals, tgts)
    f = heads.box_head(heads.box_roi_pool(feats, proposals, imgs.image_sizes))
    labels = torch.cat(labels)
    centers = heads.cls_loss.centers
    fg = labels > 0
    # the default form (the authors' code): ||f - c||^4, divided by 2 * (all sampled RoIs) * d
    expected = (((f[fg] - centers[labels[fg] - 1]) ** 2).sum(1) ** 2).sum() / (2 * f.numel())
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-7)


def test_eval_outputs_identical_and_script(batch):
    stock = mobilenet()
    ours = convert_to_hypersphere(copy.deepcopy(stock), "hl")
    run_train(ours, *batch)  # centers now non-zero: must not matter at inference
    # same weights (BN statistics moved during that step): copy everything but the HL state
    stock.load_state_dict({k: v for k, v in ours.state_dict().items() if ".cls_loss." not in k})
    images, _ = batch
    stock.eval(), ours.eval()
    with torch.no_grad():
        expected, got = stock(images), ours(images)
        scripted = torch.jit.script(ours)
        _, from_script = scripted(images)
    assert isinstance(ours.roi_heads, HypersphereRoIHeads)  # scripting left the eager model alone
    for e, g, s in zip(expected, got, from_script):
        assert e.keys() == g.keys()
        for key in e:
            assert torch.equal(e[key], g[key]) and torch.equal(e[key], s[key]), key


def test_images_without_objects_train_finite():
    model = convert_to_hypersphere(mobilenet(), "hl")
    images = [torch.rand(3, 80, 80) for _ in range(2)]
    empty = {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}
    losses = run_train(model, images, [empty, dict(empty)])
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses["loss_hypersphere"].item() == 0.0 and losses["loss_hypersphere"].requires_grad
    sum(losses.values()).backward()
    assert model.roi_heads.cls_loss.centers.abs().sum() == 0  # nothing to update from


def test_state_dict_round_trip_through_the_model(batch):
    a = convert_to_hypersphere(mobilenet(), "hl")
    run_train(a, *batch)
    b = convert_to_hypersphere(mobilenet(), "hl")
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.roi_heads.cls_loss.centers, b.roi_heads.cls_loss.centers)
    assert b.roi_heads.cls_loss.num_updates.item() == 1
    stock_state = mobilenet().state_dict()
    with pytest.warns(UserWarning, match="convert_to_hypersphere"), pytest.raises(RuntimeError, match="cls_loss.centers"):
        b.load_state_dict(stock_state)


def test_revert_restores_torchvision_class(batch):
    model = convert_to_hypersphere(mobilenet(), "hl")
    revert_to_torchvision(model)
    assert type(model.roi_heads) is torchvision.models.detection.roi_heads.RoIHeads
    assert "loss_hypersphere" not in run_train(model, *batch)


def test_unknown_loss_and_wrong_model_are_clear_errors():
    with pytest.raises(ValueError, match="unknown classification loss"):
        convert_to_hypersphere(mobilenet(), "nope")
    with pytest.raises(TypeError, match="two-stage detector"):
        convert_to_hypersphere(torchvision.models.resnet18(), "hl")


TORCHVISION_MODELS = [
    ("fasterrcnn_resnet50_fpn", 1024, {}),
    ("fasterrcnn_resnet50_fpn_v2", 1024, {}),
    ("fasterrcnn_mobilenet_v3_large_fpn", 1024, {}),
    ("fasterrcnn_mobilenet_v3_large_320_fpn", 1024, {}),
    ("maskrcnn_resnet50_fpn", 1024, {"masks": True}),
    ("keypointrcnn_resnet50_fpn", 1024, {"keypoints": True}),
]


@pytest.mark.parametrize("name, dim, extra", TORCHVISION_MODELS, ids=[m[0] for m in TORCHVISION_MODELS])
def test_one_training_step_after_conversion(name, dim, extra):
    torch.manual_seed(0)
    model = getattr(detection, name)(weights=None, weights_backbone=None, num_classes=4, **SMALL)
    convert_to_hypersphere(model, "hl")
    assert model.roi_heads.cls_loss.feature_dim == dim and model.roi_heads.cls_loss.num_classes == 3
    images, targets = make_batch(num_classes=3, with_empty=False, **extra)
    losses = run_train(model, images, targets)
    expected = {"loss_classifier", "loss_box_reg", "loss_hypersphere", "loss_objectness", "loss_rpn_box_reg"}
    expected |= {"loss_mask"} if "masks" in extra else set()
    expected |= {"loss_keypoint"} if "keypoints" in extra else set()
    assert set(losses) == expected
    assert all(torch.isfinite(v) for v in losses.values())
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01)
    sum(losses.values()).backward()
    optimizer.step()
    assert model.roi_heads.cls_loss.num_updates.item() == 1
    model.eval()
    with torch.no_grad():
        out = model(images)
    if "masks" in extra:
        assert "masks" in out[0]
    if "keypoints" in extra:
        assert "keypoints" in out[0]


@pytest.mark.parametrize("builder", [hl_detect.fasterrcnn_resnet50_fpn_hl, hl_detect.fasterrcnn_resnet50_c4_hl])
def test_builders_give_2048d_features_and_train(builder):
    torch.manual_seed(0)
    model = builder(num_classes=4, **SMALL)
    loss = model.roi_heads.cls_loss
    assert loss.feature_dim == 2048 and loss.num_classes == 3
    images, targets = make_batch(num_classes=3, with_empty=False)
    losses = run_train(model, images, targets)
    assert torch.isfinite(sum(losses.values()))
    sum(losses.values()).backward()
    model.eval()
    with torch.no_grad():
        assert len(model(images)) == 2


def test_c4_freezes_like_torchvision_when_pretrained_layers_counted():
    model = hl_detect.fasterrcnn_resnet50_c4_hl(num_classes=3, trainable_backbone_layers=2, **SMALL)
    trainable = {n.split(".")[1] for n, p in model.backbone.named_parameters() if p.requires_grad}
    assert trainable == {"layer3"}
    assert all(p.requires_grad for p in model.roi_heads.box_head.parameters())
