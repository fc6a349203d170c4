"""Every file a run writes is replaced whole or not at all (issue 24, item 8), and a checkpoint
is as readable as the run's other files (0644, not mkstemp's 0600). Before, config.yaml and
the eval reports were truncated and rewritten in place: a kill mid-write left half a file."""
import os
import stat

import pytest
import torch

import hl_detect.atomic_files as atomic_files
from hl_detect.engine import save_checkpoint
from hl_detect.evaluation.report import write_csv, write_json
from hl_detect.run.config import save_config


REPORT = {"per_class": {"class": ["cat"], "ap50_voc07": [0.5], "ap50_area": [0.5], "accuracy": [0.5], "num_objects": [3]},
          "mAP50_voc07": 0.5, "mAP50_area": 0.5, "box_accuracy": 0.5, "num_objects": 3}


def killed_before_the_rename(*args, **kwargs):
    raise KeyboardInterrupt  # the process dies between writing the new file and renaming it


@pytest.mark.parametrize("name, write", [
    ("config.yaml", lambda path: save_config({"lr": 2e-4}, path)),
    ("eval.json", lambda path: write_json({"mAP50_area": 0.5}, path)),
    ("eval.csv", lambda path: write_csv(REPORT, path)),
    ("checkpoint.pt", lambda path: save_checkpoint({"step": 2}, path)),
])
def test_a_kill_during_a_write_leaves_the_old_file_whole(tmp_path, monkeypatch, name, write):
    path = tmp_path / name
    path.write_bytes(b"the old file, whole")
    monkeypatch.setattr(atomic_files.os, "replace", killed_before_the_rename)
    with pytest.raises(KeyboardInterrupt):
        write(path)
    assert path.read_bytes() == b"the old file, whole"
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left behind


def test_files_get_the_usual_mode_and_a_pid_in_their_temporary_name(tmp_path, monkeypatch):
    old_mask = os.umask(0o022)
    try:
        save_checkpoint({"w": torch.ones(2)}, tmp_path / "checkpoint.pt")
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE((tmp_path / "checkpoint.pt").stat().st_mode) == 0o644

    seen = []
    real_replace = os.replace
    monkeypatch.setattr(atomic_files.os, "replace", lambda tmp, dst: (seen.append(os.path.basename(tmp)), real_replace(tmp, dst)))
    atomic_files.write_text_atomic(tmp_path / "metrics.json", "{}")
    assert seen[0].startswith(f".metrics.json.{os.getpid()}.") and seen[0].endswith(".tmp")
    assert atomic_files.remove_stale_temp_files(tmp_path) == []  # nothing of a dead writer here
