"""--weights for a stock torchvision builder: a local file, a weights name read from torch's hub
cache offline, and the messages when neither is there (all without network)."""
import shutil

import pytest
import torch
import torch.hub
from torchvision.models import get_model_weights
from torchvision.ops.misc import FrozenBatchNorm2d

from hl_detect.roi_heads import HypersphereRoIHeads
from hl_detect.run.cli import config_from_args
from hl_detect.run.commands.train import cli, get_args_parser
from hl_detect.run.load import build_model_from_config
from stock_weights import PREDICTOR, SMALL, STOCK, loaded_from, save_stock_weights
from tiny_runs import tiny_args

NUM_CLASSES = 20  # the tiny demo data's


@pytest.fixture(scope="module")
def stock_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "stock.pth"
    return path, save_stock_weights(path)


def build(tiny_data, tmp_path, *flags):
    args = get_args_parser().parse_args(tiny_args(tiny_data, tmp_path / "run", "--model", STOCK, *SMALL, *flags))
    return build_model_from_config(config_from_args(args), NUM_CLASSES)


def check_fine_tuning_start(model, state):
    assert loaded_from(model, state) > 100
    predictor = model.roi_heads.box_predictor
    assert predictor.cls_score.out_features == NUM_CLASSES + 1  # replaced for the run's classes
    assert not torch.equal(model.state_dict()[PREDICTOR + "cls_score.bias"][:5], state[PREDICTOR + "cls_score.bias"][:5])
    assert isinstance(model.roi_heads, HypersphereRoIHeads)  # converted after loading
    # built as torchvision builds it for its own weights
    assert any(isinstance(m, FrozenBatchNorm2d) for m in model.backbone.modules())


def test_weights_file_loads_everything_but_the_predictor(stock_file, tiny_data, tmp_path, offline):
    path, state = stock_file
    check_fine_tuning_start(build(tiny_data, tmp_path, "--weights", str(path)), state)
    assert "get_state_dict" not in vars(get_model_weights(STOCK))  # torchvision's own loading is back


def test_weights_file_of_other_classes_loads_too(stock_file, tiny_data, tmp_path, offline):
    path, state = stock_file
    other = {k: v[:6 * 4] if k.startswith(PREDICTOR + "bbox_pred") else v[:6] if k.startswith(PREDICTOR) else v
             for k, v in state.items()}  # a detector fine-tuned on 5 classes
    torch.save({"model": other, "epoch": 3}, tmp_path / "checkpoint.pth")  # a checkpoint dict, the state under "model"
    check_fine_tuning_start(build(tiny_data, tmp_path, "--weights", str(tmp_path / "checkpoint.pth")), state)


def test_weights_name_reads_the_hub_cache_offline(stock_file, tiny_data, tmp_path, offline):
    path, state = stock_file
    url = get_model_weights(STOCK).COCO_V1.url
    offline.mkdir(parents=True)
    shutil.copy(path, offline / url.rsplit("/", 1)[-1])  # where torchvision keeps its download
    check_fine_tuning_start(build(tiny_data, tmp_path, "--weights", "COCO_V1"), state)


def run_cli(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        cli(argv)
    assert stop.value.code == 2
    return capsys.readouterr().err


def test_missing_weights_file_names_it_and_the_cache(tiny_data, tmp_path, offline, capsys):
    missing = tmp_path / "nowhere" / "coco.pth"
    err = run_cli(tiny_args(tiny_data, tmp_path / "run", "--model", STOCK, "--weights", str(missing)), capsys)
    assert str(missing) in err and str(offline) in err
    assert not (tmp_path / "run").exists()  # refused before the run started


def test_weights_name_offline_names_the_cache_file(tiny_data, tmp_path, offline, capsys):
    url = get_model_weights(STOCK).COCO_V1.url
    err = run_cli(tiny_args(tiny_data, tmp_path / "run", "--model", STOCK, *SMALL, "--weights", "COCO_V1",
                            "--test-only"), capsys)
    assert str(offline / url.rsplit("/", 1)[-1]) in err and url in err


def test_weights_for_our_own_heads_are_refused(tiny_data, tmp_path, stock_file, capsys):
    err = run_cli(tiny_args(tiny_data, tmp_path / "run", "--model", "tiny", "--weights", str(stock_file[0])), capsys)
    assert "--weights" in err and STOCK in err
