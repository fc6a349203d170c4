"""The exemplar gap is said, once, where data summaries are printed: check_dataset's report
for a split of single-object images, and the training log (describe_split of the training
split) for exemplars trained on and trays tested on; not for trays, not for copy-paste."""
import importlib.util
from pathlib import Path

import pytest

from hl_detect.run.config import dataset_config_path, load_config
from hl_detect.data import build_datasets
from hl_detect.data.splits import describe_split
from hl_detect.data.synthetic_exemplars import ensure_exemplar_dataset

REPO = Path(__file__).resolve().parents[2]
SMALL = dict(num_classes=4, views_per_class=3, num_val=1, num_test=3, num_train_trays=3, image_size=80)


@pytest.fixture(scope="module")
def exemplars(tmp_path_factory):
    return ensure_exemplar_dataset(tmp_path_factory.mktemp("ex") / "e", seed=0, **SMALL)


def run_config(root, *overrides):
    cfg = load_config([dataset_config_path("demo_checkout_exemplars")],
                      [f"data.root={root}", *overrides] + [f"data.options.{k}={v}" for k, v in SMALL.items()])
    return build_datasets(cfg)


def test_the_training_log_names_the_gap_and_the_recipe(exemplars):
    train, test = run_config(exemplars.root)
    line = describe_split("train", train)
    assert line.startswith("[data] exemplar gap") and "100 % of 12 hold one object" in line
    assert "tools/synthesize_checkout.py" in line and "data.copy_paste=true" in line
    assert describe_split("test", test) is None  # said once, with the training split


@pytest.mark.parametrize("override", ["data.train.split=train_trays", "data.copy_paste=true"])
def test_no_gap_when_training_on_trays(exemplars, override):
    train, _ = run_config(exemplars.root, override)
    assert describe_split("train", train) is None


def check(*argv):
    spec = importlib.util.spec_from_file_location("check_dataset_tool", REPO / "tools" / "check_dataset.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main(mod.get_args_parser().parse_args(list(argv)))


def test_check_dataset_says_a_split_is_exemplars(exemplars, capsys):
    assert check("--kind", "rpc", "--root", str(exemplars.root), "--split", "train") == 0
    out = capsys.readouterr().out
    assert "with exactly one object: 12" in out
    assert out.count("single-product exemplars") == 1 and "Learning from exemplars" in out
    assert check("--kind", "rpc", "--root", str(exemplars.root), "--split", "test") == 0
    assert "exemplars" not in capsys.readouterr().out  # trays: nothing to say


def test_rpc_config_with_copy_paste_trains_on_composed_trays(exemplars):
    # configs/rpc.yaml as README's "trays composed on the fly" line runs it, on an RPC-shaped folder
    cfg = load_config([dataset_config_path("rpc")], [f"data.root={exemplars.root}", "data.copy_paste=true"])
    train, test = build_datasets(cfg)
    assert describe_split("train", train) is None  # the trays are composed: no gap to report
    exemplars_only, _ = build_datasets(load_config([dataset_config_path("rpc")], [f"data.root={exemplars.root}"]))
    assert describe_split("train", exemplars_only).startswith("[data] exemplar gap")  # the same folder without it
    _, target = train[0]
    assert len(target["boxes"]) >= 2  # a tray of several pasted products, not one exemplar
    assert len(test) == SMALL["num_test"]


@pytest.mark.slow  # a one-step training run in a subprocess
def test_train_log_says_the_gap_once(exemplars, tmp_path):
    from tiny_runs import TINY_OVERRIDES, run_tool

    run = tmp_path / "run"
    overrides = [o for o in TINY_OVERRIDES if not o.startswith("data.options.")] + \
        [f"data.options.{k}={v}" for k, v in SMALL.items()] + ["max_steps_per_epoch=1", "prediction_pictures=0"]
    proc = run_tool("train_det.py", "--dataset", "demo_checkout_exemplars", "--data-root", exemplars.root,
                    "--output-dir", run, "--no-progress", "--epochs", "1", *[a for o in overrides for a in ("--set", o)])
    for log in (proc.stdout, (run / "train.log").read_text()):
        assert log.count("[data] exemplar gap") == 1 and "tools/synthesize_checkout.py" in log
