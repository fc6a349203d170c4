"""Every registered loss trains one step inside a converted Faster R-CNN and evaluates as torchvision expects."""
import pytest
import torch

from hl_detect.convert import hypersphere_loss_of
from hl_detect.losses import LOSSES, MarginLoss
from loss_references import detection_batch, tiny_detector

EXTRA_KEY = {"hl": "loss_hypersphere", "cl": "loss_center", "ccl": "loss_center", "er": "loss_exclusive"}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_one_training_step_and_eval_outputs(name):
    model = tiny_detector(name)
    images, targets = detection_batch()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.01)
    model.train()
    losses = model(images, targets)
    assert {"loss_classifier", "loss_box_reg"} <= set(losses)
    if name in EXTRA_KEY:
        assert EXTRA_KEY[name] in losses
    total = sum(losses.values())
    assert torch.isfinite(total)
    before = model.roi_heads.box_predictor.cls_score.weight.detach().clone()
    optimizer.zero_grad()
    total.backward()
    optimizer.step()
    assert not torch.equal(before, model.roi_heads.box_predictor.cls_score.weight.detach())

    model.eval()
    with torch.no_grad():
        outputs = model(images)
    assert len(outputs) == 2
    for out in outputs:
        n = out["boxes"].shape[0]
        assert out["boxes"].shape == (n, 4) and out["boxes"].dtype == torch.float32
        assert out["scores"].shape == (n,) and out["labels"].shape == (n,) and out["labels"].dtype == torch.int64
        assert ((out["scores"] >= 0) & (out["scores"] <= 1)).all()
        assert ((out["labels"] >= 1) & (out["labels"] <= 4)).all()
    loss = hypersphere_loss_of(model)
    if isinstance(loss, MarginLoss) and loss.scale is not None:  # eval logits are the plain s * cos
        logits, _ = model.roi_heads.box_predictor(torch.randn(3, 1024))
        assert logits.abs().max() <= loss.scale + 1e-4
