"""What a training run leaves for people to read, through the real command with its output
piped (as under nohup or CI): plain step lines instead of bar redraws, train.log (appended on
resume), the confusion matrix and learning curve in the folder and in TensorBoard.

One run of 2 epochs x 3 steps with log_every=2, resumed for a third epoch; the tests read it."""
import json

import pytest
from PIL import Image

from tensorboard_events import tensorboard_tags
from tiny_runs import run_tool, tiny_args

pytestmark = pytest.mark.slow  # whole runs of the tool, in subprocesses


@pytest.fixture(scope="module")
def piped_run(tiny_data, tmp_path_factory):
    run = tmp_path_factory.mktemp("logs") / "run"
    settings = ["--set", "max_steps_per_epoch=3", "--set", "log_every=2", "--set", "max_eval_images=2",
                "--set", "projector=false", "--set", "eval_coco=false", "--set", "prediction_pictures=0"]
    args = [a for a in tiny_args(tiny_data, run, "--epochs", "2", *settings) if a != "--no-progress"]
    first = run_tool("train_det.py", *args)  # capture_output: stdout and stderr are pipes, not terminals
    log_after_first = (run / "train.log").read_text()
    second = run_tool("train_det.py", "--resume", str(run), "--epochs", "3")
    return run, first, log_after_first, second


def test_a_piped_run_prints_whole_lines_at_the_logging_steps(piped_run):
    _, first, _, second = piped_run
    for session in (first, second):
        assert "\r" not in session.stdout + session.stderr
    steps = [line for line in first.stdout.splitlines() if line.startswith("[train]")]
    # global steps 1..6, a line at each multiple of log_every: epoch 0 step 2, epoch 1 steps 1 and 3
    assert [line.split(" loss=")[0] for line in steps] == [
        "[train] epoch 0 step 2/3 (global 2)", "[train] epoch 1 step 1/3 (global 4)", "[train] epoch 1 step 3/3 (global 6)"]
    assert all(" lr=" in line and "classifier=" in line for line in steps) and " eta " in steps[0]
    # max_eval_images=2 at batch size 2: one batch evaluated, of the test loader's two
    assert "[eval] batch 1/1" in first.stdout and "[eval] batch 1/2" not in first.stdout


def test_train_log_holds_the_console_and_grows_on_resume(piped_run):
    run, first, log_after_first, second = piped_run
    log = (run / "train.log").read_text()
    assert log.startswith(log_after_first)  # the first session's lines are kept
    first_lines = log_after_first.splitlines()
    assert first_lines[0].startswith("===== started at ") and first_lines[1:] == first.stdout.splitlines()
    added = log[len(log_after_first):].splitlines()
    assert added[0].startswith(f"===== resumed from {run} at ") and added[1:] == second.stdout.splitlines()
    assert any(line.startswith("[epoch 2] ") for line in added)


def test_pictures_in_the_folder_and_in_tensorboard(piped_run):
    run = piped_run[0]
    for name in ("confusion_matrix.png", "learning_curve.png"):
        with Image.open(run / name) as picture:
            assert picture.format == "PNG" and min(picture.size) >= 300
    assert {"figures/confusion_matrix", "figures/learning_curve"} <= tensorboard_tags(run / "tb", ["images"])["images"]


PHASES = {"data", "setup", "training", "checkpoints", "evaluation", "tensorboard", "figures", "pictures", "report"}


def test_every_session_ends_with_its_timing_in_the_console_and_metrics(piped_run):
    run, first, _, second = piped_run
    # metrics.json holds the last session's: the resume's, which says so
    timing = json.loads((run / "metrics.json").read_text())["timing"]
    assert timing["covers"] == f"this invocation (resumed from {run})"
    rows = timing["seconds"]
    assert set(rows) == PHASES | {"other", "total"} and all(v >= 0 for v in rows.values())
    assert sum(v for k, v in rows.items() if k != "total") == pytest.approx(rows["total"], abs=0.01)
    headings = []
    for session in (first, second):
        out = session.stdout.splitlines()
        block = [line for line in out if line.startswith("[time] ")]
        assert block and out[-len(block):] == block  # one block, the last thing printed
        assert block[1].split()[1:] == ["phase", "seconds", "share"]
        assert [line.split()[1] for line in block[2:]][-2:] == ["other", "total"]
        assert {line.split()[1] for line in block[2:]} == PHASES | {"other", "total"}
        headings.append(block[0])
    assert headings == ["[time] where the time went", "[time] where the time went (this session of a resumed run)"]
