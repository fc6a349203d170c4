"""A run trained from ImageNet backbone weights (model.weights_backbone) resumes and evaluates
without their file: the checkpoint holds every tensor, so the rebuild takes the weights'
architecture (frozen BatchNorm, the trainable layers torchvision picks for weights) without
reading the file, which may have been moved since, or the machine be offline.

The "ImageNet" file is a fresh MobileNet V3 Large (shifted by 0.5 where the test must tell it
from a fresh build; unshifted where it trains), placed in a hub cache of the test's own;
downloads fail as offline."""
import json
import os

import torch
from torchvision.models import MobileNet_V3_Large_Weights, mobilenet_v3_large
from torchvision.ops.misc import FrozenBatchNorm2d

from hl_detect.run.cli import config_from_args
from hl_detect.run.commands.train import cli, get_args_parser
from hl_detect.run.load import build_model_from_config, load_run
from stock_weights import SMALL
from tiny_runs import tiny_args

NUM_CLASSES = 20  # the tiny demo data's
BACKBONE = ["--head", "mobilenet", *SMALL, "--set", "model.weights_backbone=IMAGENET1K_V1"]
ONE_STEP = ["--set", "max_steps_per_epoch=1", "--set", "prediction_pictures=0"]


def place_imagenet_file(offline, shift):
    """The backbone's weights file where torchvision reads it offline, and its state."""
    torch.manual_seed(0)
    state = {k: v + shift if v.is_floating_point() else v for k, v in mobilenet_v3_large().state_dict().items()}
    offline.mkdir(parents=True)
    path = offline / os.path.basename(MobileNet_V3_Large_Weights.IMAGENET1K_V1.url)
    torch.save(state, path)
    return path, state


def architecture(model):
    return ([(n, type(m)) for n, m in model.named_modules()], {n: p.requires_grad for n, p in model.named_parameters()},
            list(model.state_dict()))


def test_the_unread_build_is_the_model_the_weights_give(offline, tiny_data, tmp_path):
    path, state = place_imagenet_file(offline, shift=0.5)
    cfg = config_from_args(get_args_parser().parse_args(tiny_args(tiny_data, tmp_path / "run", *BACKBONE)))
    read = build_model_from_config(cfg, NUM_CLASSES)
    first_conv = read.backbone.body["0"][0].weight
    assert torch.equal(first_conv, state["features.0.0.weight"])  # the file was read
    path.unlink()
    unread = build_model_from_config(cfg, NUM_CLASSES, read_weights=False)
    assert architecture(unread) == architecture(read)
    assert any(isinstance(m, FrozenBatchNorm2d) for m in unread.modules())
    assert not all(p.requires_grad for p in unread.backbone.parameters())  # the early layers frozen, as with weights
    assert not torch.equal(unread.backbone.body["0"][0].weight, first_conv)  # a placeholder, not the file
    assert "get_state_dict" not in vars(MobileNet_V3_Large_Weights)  # torchvision's own loading is back


def test_a_resume_and_an_evaluation_need_no_backbone_file(offline, tiny_data, tmp_path):
    path, _ = place_imagenet_file(offline, shift=0.0)  # trains without a non-finite loss at 64 px
    run = tmp_path / "run"
    cli(tiny_args(tiny_data, run, *BACKBONE, *ONE_STEP, "--epochs", "1"))
    path.unlink()  # moved away (or an offline machine) after the run started
    cli(["--resume", str(run), "--epochs", "2", "--no-progress"])
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["step"] == 2
    assert metrics["resumes"] == [{"step": 1, "exact": True, "reasons": []}]
    model, _, _ = load_run(run, torch.device("cpu"))  # eval_det, predict, export
    norms = [m for m in model.modules() if isinstance(m, (FrozenBatchNorm2d, torch.nn.BatchNorm2d))]
    assert norms and all(isinstance(m, FrozenBatchNorm2d) for m in norms)  # as it trained
    trained = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)["model"]
    assert model.state_dict().keys() == trained.keys()
    assert all(torch.equal(model.state_dict()[k], v) for k, v in trained.items())
