"""--deterministic: the same short training twice gives bit-identical weights; metrics.json
records the environment behind its numbers; the run leaves the process settings as it found them."""
import json
import os
import platform
import subprocess

import torch
import torchvision

from hl_detect.engine import load_checkpoint
from hl_detect.engine.reproducibility import git_commit, reproducible
from hl_detect.run.train import run_training
from state_compare import assert_same_run
from tiny_runs import REPO, run_tool, tiny_args, tiny_config

SHORT = ["epochs=1", "max_steps_per_epoch=3", "warmup_epochs=0.34", "data.workers=0", "eval_coco=false",
         "projector=false", "prediction_pictures=0", "tensorboard_pictures=0"]


def test_deterministic_training_twice_gives_identical_weights(tiny_data, tmp_path):
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    run_training(tiny_config(tiny_data, tmp_path / "a", *SHORT, "deterministic=true", "threads=1"), progress=False)
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) == (threads, deterministic)  # put back

    sets = [a for o in SHORT for a in ("--set", o)]
    run_tool("train_det.py", *tiny_args(tiny_data, tmp_path / "b", *sets, "--deterministic", "--threads", "1"))
    first, second = load_checkpoint(tmp_path / "a" / "checkpoint.pt"), load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert first["step"] == 3 and first["model"]["roi_heads.cls_loss.num_updates"].item() == 2  # HL trained 2 steps
    assert_same_run(first, second)  # in this process and in a fresh one: the same bits

    env = json.loads((tmp_path / "b" / "metrics.json").read_text())["environment"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    assert (env["torch"], env["torchvision"], env["python"]) == (torch.__version__, torchvision.__version__, platform.python_version())
    assert (env["threads"], env["device"], env["deterministic"], env["world_size"]) == (1, "cpu", True, 1)
    if head.returncode == 0:
        assert env["git_commit"].split("-dirty")[0] == head.stdout.strip()
    assert "deterministic: true" in (tmp_path / "b" / "config.yaml").read_text()  # a resume keeps it


def test_git_commit_outside_a_checkout_is_none(tmp_path):
    assert git_commit(tmp_path) is None


def test_reproducible_sets_and_restores_settings():
    before = torch.get_num_threads()
    with reproducible(threads=1, deterministic=True) as threads:
        assert threads == 1 and torch.get_num_threads() == 1
        assert torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.deterministic
    assert torch.get_num_threads() == before and not torch.are_deterministic_algorithms_enabled()


def test_reproducible_restores_warn_only_and_the_cublas_setting(monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        with reproducible(deterministic=True):
            assert not torch.is_deterministic_algorithms_warn_only_enabled()
        assert torch.are_deterministic_algorithms_enabled() and torch.is_deterministic_algorithms_warn_only_enabled()
        assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ
    finally:
        torch.use_deterministic_algorithms(False)
