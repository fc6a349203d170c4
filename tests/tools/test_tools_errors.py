"""Expected mistakes end in `error:` + `next step:` and exit status 2, not in a traceback.

Each case runs a tool as a user would (a subprocess); the cases run side by side, since each
spends most of its time importing torch. Also: --debug / HL_DETECT_DEBUG=1 bring the
traceback back, bugs keep theirs, every --help has examples, and an evaluation puts
pictures with predicted and ground-truth boxes in TensorBoard's image tab.
"""
import argparse
import importlib.util
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from hl_detect.data import DatasetError
from hl_detect.errors import CheckpointError, ConfigKeyError, as_user_error, main_guard
from hl_detect.models import BackboneWeightsError
from tiny_runs import REPO, run_tool, tiny_args

NEXT_STEP_DEMO = "python tools/train_det.py"


def users_data(root):
    """A folder of someone's own that --data-root may name: photos/ and a manifest.json not ours."""
    (root / "photos").mkdir(parents=True)
    (root / "photos" / "holiday.jpg").write_bytes(b"someone's photo")
    (root / "manifest.json").write_text('{"name": "mine"}')
    return {p.relative_to(root).as_posix(): p.is_file() and p.read_bytes() for p in sorted(root.rglob("*"))}


def cases(tmp):
    """name -> (tool, arguments, extra environment): one expected mistake each."""
    empty = tmp / "empty"
    empty.mkdir()
    users_data(tmp / "users_data")
    return {
        # issue 24's reproduction: --data-root naming a folder of one's own with a manifest.json
        "data_root_foreign": ("train_det.py", tiny_args(tmp / "users_data", tmp / "run_foreign"), {}),
        "voc_missing": ("train_det.py", ["--dataset", "voc0712", "--data-root", empty], {}),
        "rpc_missing": ("train_det.py", ["--dataset", "rpc", "--data-root", tmp / "rpc"], {}),
        "key_typo": ("train_det.py", ["--set", "epoch=3"], {}),
        "dataset_typo": ("train_det.py", ["--dataset", "voc2099"], {}),
        "loss_unknown": ("train_det.py", ["--loss", "hyper"], {}),
        "head_typo": ("train_det.py", ["--head", "tinny"], {}),
        "eval_no_run": ("eval_det.py", [tmp / "no_run"], {}),
        "predict_no_image": ("predict.py", [tmp / "no_run", tmp / "missing.jpg"], {}),
        "debug_flag": ("train_det.py", ["--dataset", "voc0712", "--data-root", tmp / "nowhere", "--debug"], {}),
        "debug_env": ("train_det.py", ["--set", "epoch=3"], {"HL_DETECT_DEBUG": "1"}),
    }


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("errors")
    todo = cases(tmp)

    def run(item):
        name, (tool, args, env) = item
        env = {"HL_DETECT_DEBUG": "", **env}  # a developer's own HL_DETECT_DEBUG=1 must not leak in
        proc = run_tool(tool, *args, "--no-progress" if tool == "train_det.py" else "--device=cpu",
                        check=False, timeout=120, env=env)
        return name, proc

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return dict(pool.map(run, todo.items()))


def clean_error(proc):
    """The two lines a user error prints; fails on a traceback or another exit status."""
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "Traceback" not in out, out
    lines = proc.stderr.strip().splitlines()
    error = next((line for line in lines if line.startswith("error: ")), None)
    assert error is not None, out
    assert lines[-1].startswith("next step: "), out
    return error, lines[-1]


def test_missing_voc_points_to_readme_and_demo(outcomes):
    error, step = clean_error(outcomes["voc_missing"])
    assert "split file not found" in error
    assert "datasets/README.md" in step and NEXT_STEP_DEMO in step and "put VOC under" in step


def test_missing_rpc_points_to_readme_and_demo(outcomes):
    error, step = clean_error(outcomes["rpc_missing"])
    assert "instances_train2019.json: annotation file not found" in error
    assert "put RPC under" in step and "datasets/README.md" in step and NEXT_STEP_DEMO in step


def test_data_root_of_ones_own_is_refused_and_kept(outcomes, tmp_path):
    error, step = clean_error(outcomes["data_root_foreign"])
    assert "users_data" in error and "did not write" in error and "refusing" in error
    assert "--data-root" in step and "new or empty folder" in step
    root = Path(error.split("error: ", 1)[1].split(":", 1)[0])
    expected = users_data(tmp_path / "users_data")
    assert {p.relative_to(root).as_posix(): p.is_file() and p.read_bytes() for p in sorted(root.rglob("*"))} == expected


def test_config_key_typo_suggests_the_key(outcomes):
    error, step = clean_error(outcomes["key_typo"])
    assert "unknown key 'epoch'; did you mean 'epochs'?" in error
    assert "known keys" not in error  # the full list only when nothing is close
    assert "configs/base.yaml" in step


def test_unknown_dataset_suggests_a_config(outcomes):
    error, step = clean_error(outcomes["dataset_typo"])
    assert "no config for dataset 'voc2099'" in error and "did you mean 'voc0712'?" in error
    assert "configs/" in step and NEXT_STEP_DEMO in step


def test_unknown_loss_lists_losses_when_nothing_is_close(outcomes):
    error, step = clean_error(outcomes["loss_unknown"])
    assert "unknown loss 'hyper'; known losses:" in error and "hl" in error and "cosface" in error
    assert "cosface+hl" in step


def test_head_typo_suggests_the_head(outcomes):
    error, step = clean_error(outcomes["head_typo"])
    assert "unknown model head 'tinny'; did you mean 'tiny'?" in error
    assert "mlp2048" in step


def test_eval_on_missing_run_folder(outcomes):
    error, step = clean_error(outcomes["eval_no_run"])
    assert "checkpoint not found" in error and "no_run" in error
    assert "run folder" in step and "checkpoint.pt" in step


def test_predict_on_missing_image(outcomes):
    error, step = clean_error(outcomes["predict_no_image"])
    assert "no such image or folder" in error and "missing.jpg" in error
    assert ".jpg" in step


@pytest.mark.parametrize("case, last_line", [
    ("debug_flag", "DatasetError: "),  # --debug
    ("debug_env", "ConfigKeyError: override 'epoch=3': unknown key 'epoch'; did you mean 'epochs'?"),  # HL_DETECT_DEBUG=1
])
def test_debug_brings_the_traceback_back(outcomes, case, last_line):
    proc = outcomes[case]
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback (most recent call last)" in proc.stderr
    assert last_line in proc.stderr.strip().splitlines()[-1]
    assert "next step:" not in proc.stderr


def test_bugs_keep_their_traceback_and_user_errors_exit_2(capsys, monkeypatch):
    def typo(args):
        raise ConfigKeyError("unknown key 'x'")

    monkeypatch.delenv("HL_DETECT_DEBUG", raising=False)
    args = argparse.Namespace(debug=False)
    with pytest.raises(ZeroDivisionError):  # not a user error: the traceback stays
        main_guard(lambda a: 1 / 0, args)
    with pytest.raises(SystemExit) as stopped:
        main_guard(typo, args)
    assert stopped.value.code == 2
    assert capsys.readouterr().err.startswith("error: unknown key 'x'\nnext step: configs/base.yaml")
    assert main_guard(lambda a: 7, args) == 7
    # the project's other user-facing errors are UserErrors too
    assert as_user_error(DatasetError("a.json", "annotation file not found")) is not None
    assert as_user_error(BackboneWeightsError("offline")) is not None


def test_checkpoint_of_another_model_is_a_user_error():
    with pytest.raises(RuntimeError) as raised:  # what torch says for another model's weights
        torch.nn.Linear(3, 4).load_state_dict(torch.nn.Linear(3, 5).state_dict())
    error = as_user_error(raised.value)
    assert isinstance(error, CheckpointError) and "do not fit the model" in str(error)
    assert "size mismatch" in str(error) and "--output-dir" in error.hint
    assert as_user_error(RuntimeError("CUDA error: device-side assert")) is None


@pytest.mark.parametrize("tool", ["train_det", "compare_losses", "eval_det", "predict", "check_dataset",
                                  "export", "checkout_arms", "bench_eval", "bench_hl_terms", "bench_step"])
def test_help_shows_examples_and_debug(tool):
    spec = importlib.util.spec_from_file_location(f"{tool}_tool", REPO / "tools" / f"{tool}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.get_args_parser().format_help()
    examples = text.split("examples:\n", 1)[-1]
    assert "examples:\n" in text and f"python tools/{tool}.py" in examples, text
    assert "--debug" in text and "HL_DETECT_DEBUG" in text


def test_evaluation_writes_prediction_pictures_to_tensorboard(tiny_data, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    extra = tmp_path / "pictures.yaml"
    extra.write_text("tensorboard_pictures: 2\n")  # a key of configs/base.yaml once it is added there
    run = tmp_path / "run"
    cheap = ["--set", "max_steps_per_epoch=1", "--set", "projector=false", "--set", "eval_coco=false"]
    run_tool("train_det.py", *tiny_args(tiny_data, run, "--epochs", "1", *cheap, "--config", extra))
    tags, images = set(), []
    for events in (run / "tb").glob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(events), size_guidance={"images": 0})
        accumulator.Reload()
        for tag in accumulator.Tags()["images"]:
            tags.add(tag)
            images += accumulator.Images(tag)
    predictions = {t for t in tags if t.startswith("eval/predictions/")}
    assert len(predictions) == 2 and tags - predictions == {"figures/confusion_matrix", "figures/learning_curve"}, tags
    assert all(i.step == 1 and i.encoded_image_string.startswith(b"\x89PNG") for i in images)
    assert all(i.width > 0 and i.height > 0 for i in images)
