"""``--model NAME`` with torchvision's own builder names gives torchvision's model, converted.

For each stock name (the ResNet-50 ones included), a run config made by ``train_det``'s parser
is built by the project, reverted (what export ships), and loaded with strict=True into the
model torchvision's builder makes for the same classes and options: every key and every shape
is the stock one, so fine-tuned weights move both ways. A training step through the converted
model checks that the HL loss is plugged into that architecture's box head."""
import pytest
import torch
from torchvision.models import get_model

from hl_detect.export import inference_model
from hl_detect.models.stock import STOCK_BUILDERS
from hl_detect.roi_heads import HypersphereRoIHeads
from hl_detect.run.cli import config_from_args
from hl_detect.run.commands.train import get_args_parser
from hl_detect.run.load import build_model_from_config
from stock_weights import SMALL
from tiny_runs import tiny_args

NUM_CLASSES = 20  # the tiny demo data's


@pytest.mark.parametrize("name", sorted(STOCK_BUILDERS))
def test_stock_name_builds_torchvisions_model_converted(name, tmp_path):
    args = get_args_parser().parse_args(tiny_args(tmp_path / "data", tmp_path / "run", "--model", name, *SMALL))
    cfg = config_from_args(args)
    assert cfg["model"]["head"] == name and cfg["model"]["weights_backbone"] is None
    torch.manual_seed(0)
    model = build_model_from_config(cfg, NUM_CLASSES)
    assert isinstance(model.roi_heads, HypersphereRoIHeads)
    assert model.roi_heads.cls_loss.num_classes == NUM_CLASSES

    images = [torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(1))]
    targets = [{"boxes": torch.tensor([[8.0, 8.0, 40.0, 48.0]]), "labels": torch.tensor([3])}]
    model.train()
    losses = model(images, targets)
    assert "loss_hypersphere" in losses and all(torch.isfinite(v) for v in losses.values())

    stock = get_model(name, weights=None, weights_backbone=None, num_classes=NUM_CLASSES + 1,
                      **cfg["model"]["options"])
    reverted = inference_model(model)
    stock.load_state_dict(reverted.state_dict(), strict=True)  # raises on any key or shape of another model
    assert type(reverted.backbone.body) is type(stock.backbone.body)
    assert type(reverted.roi_heads.box_head) is type(stock.roi_heads.box_head)  # v2's conv head stays a conv head
