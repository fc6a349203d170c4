"""The typed config schema: defaults written once, types, ranges, unknown keys, loss options."""
import math

import pytest
import yaml

from hl_detect.engine.trainer_config import TrainerConfig
from hl_detect.errors import ConfigError, ConfigKeyError
from hl_detect.run.config import CONFIG_DIR, check_names, dataset_config_path, load_config, read_config_file
from hl_detect.run.schema import default_config, default_of, stored_value
from hl_detect.run.schema_check import check_config

SHIPPED = sorted(CONFIG_DIR.glob("*.yaml"))


def without_nulls_in_resize(cfg):
    """data.resize gives one way of sizing; a key it leaves out and a null one mean the same."""
    resize = {k: v for k, v in cfg["data"]["resize"].items() if v is not None}
    return {**cfg, "data": {**cfg["data"], "resize": resize}}


def test_schema_defaults_are_the_base_preset():
    """configs/base.yaml repeats every default (it documents them): the two must never disagree."""
    base = read_config_file(CONFIG_DIR / "base.yaml")
    assert without_nulls_in_resize(default_config()) == without_nulls_in_resize(base)
    assert check_config({}) == default_config()  # a config that names nothing gets every default


@pytest.mark.parametrize("key, value", [
    # the defaults that code and base.yaml once wrote differently: base.yaml's, which every run used
    ("eval_every", 10), ("data.plus_one", True), ("data.aspect_ratio_group_factor", 3), ("data.workers", 4),
    ("projector_max_points", 1000), ("projector", True),
])
def test_defaults_that_once_disagreed(key, value):
    assert default_of(key) == value


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_config_loads_and_keeps_its_values(path):
    cfg = check_names(load_config([path]))
    assert check_config(cfg) == cfg  # checking again changes nothing
    merged = read_config_file(path)
    for key, value in merged.items():  # the preset's own values, not defaults, are what load
        if key not in ("data", "model", "input_size"):
            assert cfg[key] == value, key


def test_a_config_without_base_gets_the_defaults(tmp_path):
    (tmp_path / "mine.yaml").write_text("dataset: mine\nepochs: 3\ndata: {workers: 0}\n")
    cfg = load_config([tmp_path / "mine.yaml"])
    assert cfg["epochs"] == 3 and cfg["data"]["workers"] == 0 and cfg["dataset"] == "mine"
    assert cfg["eval_every"] == 10 and cfg["data"]["plus_one"] is True and cfg["projector_max_points"] == 1000


@pytest.mark.parametrize("override, message", [
    ("epochs=abc", "epochs='abc': must be an integer"),
    ("epochs=2.5", "epochs=2.5: must be an integer"),
    ("epochs=true", "epochs=True: must be an integer"),  # a bool is not a count
    ("lr=fast", "lr='fast': must be a finite number"),
    ("lr=.nan", "lr=nan: must be a finite number"),
    ("lr=0", "lr=0: must be > 0"),
    ("batch_size=0", "batch_size=0: must be >= 1"),
    ("epochs=-1", "epochs=-1: must be >= 1"),
    ("amp=maybe", "amp='maybe': must be true or false"),
    ("checkout_threshold=1.5", "checkout_threshold=1.5: must be <= 1"),
    ("optimizer=sdg", "optimizer='sdg': must be one of adam, sgd; did you mean 'sgd'?"),
    ("data.kind=vocc", "data.kind='vocc': must be one of voc, coco, rpc, synthetic"),
    ("data.workers=-2", "data.workers=-2: must be >= 0"),
    ("model.trainable_backbone_layers=6", "model.trainable_backbone_layers=6: must be <= 5"),
    ("data.options=3", "data.options=3: must be a mapping"),
])
def test_wrong_types_and_ranges_are_refused(override, message):
    with pytest.raises(ConfigError) as raised:
        load_config([dataset_config_path("demo")], [override])
    assert message in str(raised.value)
    assert "--set" in raised.value.hint


@pytest.mark.parametrize("override", [
    "epochs=1", "lr=1", "lr=1e-9", "data.workers=0", "checkout_threshold=0", "checkout_threshold=1",
    "clip_grad_norm=null", "max_steps_per_epoch=null", "data.aspect_ratio_group_factor=-1", "warmup_epochs=0.34",
    "data.test.options.ann_file=t.json", "model.options.anything=1",  # *options stay free-form
])
def test_edge_values_are_accepted_as_given(override):
    cfg = load_config([dataset_config_path("demo")], [override])
    key, raw = override.split("=")
    node = cfg
    for part in key.split("."):
        node = node[part]
    assert node == yaml.safe_load(raw) or math.isclose(node, float(raw))
    assert type(node) is type(yaml.safe_load(raw)) or isinstance(node, float)  # an int stays an int


def test_unknown_key_in_a_file_suggests_the_key(tmp_path):
    (tmp_path / "typo.yaml").write_text(f"_base_: {CONFIG_DIR / 'demo.yaml'}\ndata:\n  worker: 2\n")
    with pytest.raises(ConfigKeyError, match=r"unknown key 'data.worker'; did you mean 'data.workers'"):
        load_config([tmp_path / "typo.yaml"])
    (tmp_path / "split.yaml").write_text(f"_base_: {CONFIG_DIR / 'demo.yaml'}\ndata:\n  test: {{splt: x}}\n")
    with pytest.raises(ConfigKeyError, match="did you mean 'data.test.split'"):
        load_config([tmp_path / "split.yaml"])


def test_a_split_section_may_hold_any_data_key_checked_as_one(tmp_path):
    (tmp_path / "s.yaml").write_text(f"_base_: {CONFIG_DIR / 'rpc.yaml'}\ndata:\n  test: {{kind: coco, root: /x}}\n")
    cfg = load_config([tmp_path / "s.yaml"])
    assert cfg["data"]["test"] == {"split": "test", "root": "/x", "options": {}, "kind": "coco"}  # nothing added
    (tmp_path / "bad.yaml").write_text(f"_base_: {CONFIG_DIR / 'rpc.yaml'}\ndata:\n  test: {{workers: -1}}\n")
    with pytest.raises(ConfigError, match=r"data.test.workers=-1: must be >= 0"):
        load_config([tmp_path / "bad.yaml"])


@pytest.mark.parametrize("overrides, message", [
    (["loss=hl", "loss_options.weight=0"], "no loss is called 'weight'; did you mean 'loss_options.hl.weight'"),  # the chosen loss's key first
    (["loss_options.hl.radiuss=3"], "unknown key 'loss_options.hl.radiuss' (hl takes no 'radiuss'); "
                                    "did you mean 'loss_options.hl.radius'"),
    (["loss=hl", "loss_options.cosface.scal=3"], "did you mean 'loss_options.cosface.scale'"),  # not the chosen loss: still checked
    (["loss=hl", "loss_options.hl.radius=0"], "loss_options.hl: hypersphere loss: radius r must be > 0"),
    (["loss=hl", "loss_options.hl.epsilon=1"], "epsilon must be in [0, 1)"),
    (["loss=hl", "loss_options.hl.weight=.nan"], "must be finite numbers"),
    (["loss=hl", "loss_options.hl.phi=1"], "phi must be in [0, 1)"),
    (["loss=arcface", "loss_options.arcface.margin=4"], "loss_options.arcface: the angular margin must be in [0, pi)"),
    (["loss=cosface+hl", "loss_options.hl.weight=-1"], "loss_options.hl: hypersphere loss: weight (lambda)"),  # the part whose options are wrong
])
def test_loss_options_are_checked_against_the_loss(overrides, message):
    with pytest.raises(ConfigError) as raised:
        check_names(load_config([dataset_config_path("demo")], overrides))
    assert message in str(raised.value)


def test_an_unused_loss_keeps_its_values_unbuilt():
    """Only the chosen loss is built: an entry of another loss is checked for its keys alone."""
    cfg = check_names(load_config([dataset_config_path("demo")], ["loss_options.arcface.margin=4"]))
    assert cfg["loss_options"]["arcface"]["margin"] == 4


def test_trainer_config_takes_its_keys_from_a_loaded_config():
    cfg = load_config([dataset_config_path("demo")], ["max_steps_per_epoch=3"])
    trainer_cfg = TrainerConfig.from_mapping(cfg)
    assert trainer_cfg.epochs == cfg["epochs"] and trainer_cfg.max_steps_per_epoch == 3
    assert trainer_cfg.log_every == cfg["log_every"] and trainer_cfg.keep_epoch_checkpoints is False


def test_a_stored_config_older_than_a_key_reads_its_default():
    assert stored_value({"data": {}}, "data.plus_one") is True
    assert stored_value({"data": {"plus_one": False}}, "data.plus_one") is False
    assert stored_value({}, "checkout_agnostic_iou") == 0.5
