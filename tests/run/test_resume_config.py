"""A resume trains on with the checkpoint's config (issue 24, item 3): config.yaml may have been
replaced since; seed and classes cannot change; other changes are listed and need
--allow-config-change, which marks the resume not exact; device and threads are noted. Before,
a resume read config.yaml and took any change silently (an lr change was even undone by the
restored optimizer state without a word)."""
import json

import pytest
import yaml

from hl_detect.errors import CheckpointError, ConfigError
from hl_detect.run.resume_config import check_classes, check_resume_config
from tiny_runs import run_tool, tiny_args

SAVED = {"seed": 0, "lr": 1e-3, "epochs": 2, "device": "auto", "threads": None, "output_dir": "runs/a",
         "loss_options": {"hl": {"weight": 0.002}}}


def changed(**keys):
    cfg = json.loads(json.dumps(SAVED))
    for dotted, value in keys.items():
        node, *path = cfg, *dotted.split("__")
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return cfg


def test_the_same_config_resumes_exactly_and_run_keys_are_only_noted():
    said = []
    assert check_resume_config(SAVED, changed(output_dir="runs/b"), allow_change=False, say=said.append) == []
    assert said == []
    assert check_resume_config(SAVED, changed(device="cpu", threads=2, epochs=5), False, said.append) == []
    assert said == ["[resume] note: device auto -> cpu (the checkpoint's -> this run's)",
                    "[resume] note: epochs 2 -> 5 (the checkpoint's -> this run's)",
                    "[resume] note: threads None -> 2 (the checkpoint's -> this run's)"]


def test_seed_is_refused_and_other_changes_need_the_flag():
    with pytest.raises(ConfigError, match=r"a resume cannot change seed \(0 -> 1\)"):
        check_resume_config(SAVED, changed(seed=1), allow_change=True, say=print)
    with pytest.raises(ConfigError, match=r"differs from the checkpoint's:\n  loss_options.hl.weight: 0.002 -> 0.01") as error:
        check_resume_config(SAVED, changed(loss_options__hl__weight=0.01), allow_change=False, say=print)
    assert "--allow-config-change" in error.value.hint
    said = []
    reasons = check_resume_config(SAVED, changed(lr=5e-4), allow_change=True, say=said.append)
    assert reasons == ["config changed: lr: 0.001 -> 0.0005"]
    assert said == ["[resume] config change (allowed, not an exact resume): lr: 0.001 -> 0.0005"]


def test_other_classes_are_refused():
    check_classes(["cat", "dog"], ["cat", "dog"])
    check_classes(None, ["cat"])  # an old checkpoint without names: the weights' shapes still check the count
    with pytest.raises(CheckpointError, match=r"2 classes \[dog, cat\] instead of 2 classes \[cat, dog\]"):
        check_classes(["cat", "dog"], ["dog", "cat"])
    cats = [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]
    check_classes(["cat", "dog"], ["cat", "dog"], cats, [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}])
    check_classes(["cat", "dog"], ["cat", "dog"], [{"id": None, "name": "cat"}, {"id": None, "name": "dog"}], cats)
    with pytest.raises(CheckpointError, match=r"category ids differ from the checkpoint's: \[1, 7\] instead of \[1, 2\]"):
        check_classes(["cat", "dog"], ["cat", "dog"], cats, [{"id": 1, "name": "cat"}, {"id": 7, "name": "dog"}])


@pytest.mark.slow
def test_a_resume_uses_the_checkpoints_config_and_refuses_or_records_changes(tiny_data, tmp_path):
    run = tmp_path / "run"
    quick = ["--set", "eval_coco=false", "--set", "projector=false", "--set", "prediction_pictures=0",
             "--set", "tensorboard_pictures=0"]
    run_tool("train_det.py", *tiny_args(tiny_data, run, "--epochs", "1", *quick))
    # config.yaml replaced after the run (another run's, an edit): the checkpoint's config counts
    edited = yaml.safe_load((run / "config.yaml").read_text())
    trained_weight = edited["loss_options"]["hl"]["weight"]
    assert trained_weight != 0.5
    edited["loss_options"]["hl"]["weight"] = 0.5
    (run / "config.yaml").write_text(yaml.safe_dump(edited))

    refused = run_tool("train_det.py", "--resume", run, "--epochs", "2", "--lr", "5e-4", "--no-progress", check=False)
    assert refused.returncode == 2
    assert "error: the config differs from the checkpoint's:\n  lr: 0.001 -> 0.0005" in refused.stderr
    assert "loss_options" not in refused.stderr  # the edited config.yaml is not what a resume compares with

    allowed = run_tool("train_det.py", "--resume", run, "--epochs", "2", "--lr", "5e-4", "--allow-config-change",
                       "--threads", "1", "--no-progress")
    assert "[resume] note: threads None -> 1" in allowed.stdout
    assert "[resume] config change (allowed, not an exact resume): lr: 0.001 -> 0.0005" in allowed.stdout
    assert "lr=0.0005" in next(line for line in allowed.stdout.splitlines() if line.startswith("[epoch 1]"))
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["config"]["loss_options"]["hl"]["weight"] == trained_weight  # the checkpoint's, not config.yaml's
    assert metrics["exact"] is False
    assert metrics["resumes"] == [{"step": 2, "exact": False, "reasons": ["config changed: lr: 0.001 -> 0.0005"]}]


def test_a_key_added_since_the_checkpoint_is_no_change():
    # a checkpoint written before model.weights existed trained without detector weights: its default
    from hl_detect.run.config import dataset_config_path, load_config

    cfg = load_config([dataset_config_path("demo")])
    saved = json.loads(json.dumps(cfg))
    del saved["model"]["weights"]
    assert check_resume_config(saved, cfg, allow_change=False, say=print) == []
    # ... but not inside free-form options, nor in a split's keys (those fall back to the shared data keys)
    del saved["model"]["options"]["min_size"]
    del saved["data"]["test"]["split"]
    with pytest.raises(ConfigError, match=r"data.test.split: '\(not set\)' -> 'test'\n  model.options.min_size: '\(not set\)' -> 216"):
        check_resume_config(saved, cfg, allow_change=False, say=print)
