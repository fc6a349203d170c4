"""A run started from a --weights file resumes without it: the checkpoint holds every tensor,
so the resume builds the weights' model (frozen BatchNorm, the trainable layers the builder
takes for weights) without reading the file, which may have been moved or deleted since."""
import json

import torch
from torchvision.models import detection
from torchvision.ops.misc import FrozenBatchNorm2d

from hl_detect.run.cli import config_from_args
from hl_detect.run.commands.train import cli, get_args_parser
from hl_detect.run.load import build_model_from_config
from stock_weights import SMALL, STOCK
from tiny_runs import tiny_args

NUM_CLASSES = 20  # the tiny demo data's
ONE_STEP = ["--set", "max_steps_per_epoch=1", "--set", "prediction_pictures=0"]


def save_plain_weights(path):
    """The stock builder's own initialization: trains without a non-finite loss at 64 px
    (stock_weights.py's shifted copy is for load checks, not for steps)."""
    torch.manual_seed(0)
    torch.save(detection.fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None).state_dict(), path)


def test_the_unread_build_is_the_model_the_weights_give(tiny_data, tmp_path):
    weights = tmp_path / "detector.pth"
    save_plain_weights(weights)
    cfg = config_from_args(get_args_parser().parse_args(tiny_args(tiny_data, tmp_path / "run", "--model", STOCK,
                                                                   *SMALL, "--weights", str(weights))))
    read = build_model_from_config(cfg, NUM_CLASSES)
    weights.unlink()
    unread = build_model_from_config(cfg, NUM_CLASSES, read_weights=False)
    assert [(n, type(m)) for n, m in unread.named_modules()] == [(n, type(m)) for n, m in read.named_modules()]
    assert any(isinstance(m, FrozenBatchNorm2d) for m in unread.modules())
    assert {n: p.requires_grad for n, p in unread.named_parameters()} == {n: p.requires_grad for n, p in read.named_parameters()}
    assert unread.state_dict().keys() == read.state_dict().keys()


def test_a_resume_needs_no_weights_file(tiny_data, tmp_path):
    weights, run = tmp_path / "detector.pth", tmp_path / "run"
    save_plain_weights(weights)
    cli(tiny_args(tiny_data, run, "--model", STOCK, *SMALL, *ONE_STEP, "--weights", str(weights), "--epochs", "1"))
    weights.unlink()  # moved away after the run started
    cli(["--resume", str(run), "--epochs", "2", "--no-progress"])
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["step"] == 2
    assert metrics["resumes"] == [{"step": 1, "exact": True, "reasons": []}]


def test_evaluation_rebuilds_the_trained_architecture_without_the_file(tiny_data, tmp_path):
    """load_run (eval_det, predict, export) builds a --weights run as it trained: frozen
    BatchNorm (and the weights' eps), not the plain BatchNorm of a build without weights."""
    from hl_detect.run.load import load_run

    weights, run = tmp_path / "detector.pth", tmp_path / "run"
    save_plain_weights(weights)
    cli(tiny_args(tiny_data, run, "--model", STOCK, *SMALL, *ONE_STEP, "--weights", str(weights), "--epochs", "1"))
    weights.unlink()
    model, cfg, _ = load_run(run, torch.device("cpu"))
    norms = [m for m in model.modules() if isinstance(m, (FrozenBatchNorm2d, torch.nn.BatchNorm2d))]
    assert norms and all(isinstance(m, FrozenBatchNorm2d) for m in norms)
    trained = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)["model"]
    assert model.state_dict().keys() == trained.keys()  # nothing missing, nothing extra
