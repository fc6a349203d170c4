"""train_det --test-only: evaluates the model of --resume or --weights, trains nothing, writes no checkpoint."""
import pytest

from hl_detect.engine import load_checkpoint
from hl_detect.run.commands.train import cli, get_args_parser, main
from stock_weights import SMALL, STOCK, save_stock_weights
from tiny_runs import tiny_args

RUN_FILES = ("checkpoint.pt", "config.yaml", "metrics.json", "tb")  # what training writes


def run(*argv):
    return main(get_args_parser().parse_args(list(argv)))


def test_test_only_with_weights_evaluates_without_training(tiny_data, tmp_path):
    save_stock_weights(tmp_path / "stock.pth")
    out = tmp_path / "out"
    result = run(*tiny_args(tiny_data, out, "--model", STOCK, *SMALL, "--weights", str(tmp_path / "stock.pth"), "--test-only"))
    assert 0.0 <= result["mAP50_area"] <= 1.0 and result["num_images"] == 4
    assert (out / "eval_test.json").is_file()
    assert not any((out / name).exists() for name in RUN_FILES)


@pytest.mark.slow  # a training run first (one step), then its evaluation
def test_test_only_with_resume_evaluates_the_checkpoint_as_it_is(tiny_data, tmp_path):
    folder = tmp_path / "run"
    run(*tiny_args(tiny_data, folder, "--epochs", "1", "--set", "max_steps_per_epoch=1", "--set", "prediction_pictures=0",
                   "--set", "projector=false"))
    before = (folder / "checkpoint.pt").read_bytes()
    assert load_checkpoint(folder / "checkpoint.pt")["step"] == 1
    # --epochs 2: without --test-only this would resume and train a second epoch
    result = run("--resume", str(folder), "--test-only", "--epochs", "2", "-j", "0", "--no-progress")
    assert 0.0 <= result["mAP50_area"] <= 1.0 and (folder / "eval_test.json").is_file()
    assert (folder / "checkpoint.pt").read_bytes() == before  # no step trained, nothing saved


def test_test_only_needs_a_model(tiny_data, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        cli(tiny_args(tiny_data, tmp_path / "out", "--test-only"))
    assert stop.value.code == 2 and "--resume" in capsys.readouterr().err
