"""input_size (--image-size) sets the data transform and the model's own resize together; a
config where the model would resize the loader's images again is refused. Checked against
torchvision's GeneralizedRCNNTransform itself: it must leave the loader's images as they are."""
import numpy as np
import pytest
import torch
from torchvision.models.detection.transform import GeneralizedRCNNTransform

from hl_detect.run.cli import add_config_arguments, config_from_args
from hl_detect.run.config import dataset_config_path, load_config
from hl_detect.data import build_eval_transforms
from hl_detect.errors import ConfigError


def model_keeps_loader_size(cfg, shapes=((375, 500), (216, 288), (100, 1000), (640, 480))):
    opts = cfg["model"]["options"]
    model_tf = GeneralizedRCNNTransform(opts["min_size"], opts["max_size"], [0.0] * 3, [1.0] * 3).eval()
    data_tf = build_eval_transforms(**cfg["data"]["resize"])
    for h, w in shapes:
        out = data_tf(image=np.zeros((h, w, 3), np.uint8), boxes=np.zeros((0, 4)), labels=np.zeros(0),
                      difficult=np.zeros(0, bool))["image"]
        batch, _ = model_tf([torch.zeros(3, *out.shape[:2])])
        assert tuple(batch.image_sizes[0]) == out.shape[:2], (h, w, out.shape, batch.image_sizes)


@pytest.mark.parametrize("dataset,size,resize,model", [
    ("voc0712", 300, {"image_size": 300}, (300, 300)),                     # square config
    ("demo", 108, {"min_size": 108, "max_size": 144}, (108, 144)),          # keeps 216:288
    ("demo", [200, 400], {"min_size": 200, "max_size": 400}, (200, 400)),
    ("voc0712", [200, 400], {"image_size": None, "min_size": 200, "max_size": 400}, (200, 400)),
])
def test_one_setting_sets_data_and_model(dataset, size, resize, model):
    cfg = load_config([dataset_config_path(dataset)], [f"input_size={size}"])
    assert {k: cfg["data"]["resize"].get(k) for k in resize} == resize
    assert (cfg["model"]["options"]["min_size"], cfg["model"]["options"]["max_size"]) == model
    model_keeps_loader_size(cfg)
    assert load_config([dataset_config_path(dataset)], [f"input_size={size}"]) == cfg  # resolving twice: same


def test_shipped_configs_agree():
    for name in ("voc0712", "rpc", "demo", "demo_checkout"):
        model_keeps_loader_size(load_config([dataset_config_path(name)]))


def test_sizes_that_disagree_are_refused():
    with pytest.raises(ConfigError, match=r"image_size=600 .* rescale them by 0\.5") as e:
        load_config([dataset_config_path("voc0712")], ["model.options.min_size=300", "model.options.max_size=300"])
    assert "input_size" in e.value.hint
    with pytest.raises(ConfigError, match="min_size/max_size = 100/288 but model.options min_size/max_size = 216/288"):
        load_config([dataset_config_path("demo")], ["data.resize.min_size=100"])
    with pytest.raises(ConfigError, match="input_size must be"):
        load_config([dataset_config_path("demo")], ["input_size=-3"])
    # torchvision's multi-scale training (a list of min sizes) is deliberate: allowed
    load_config([dataset_config_path("voc0712")], ["model.options.min_size=[480,600]"])


def test_image_size_flag():
    import argparse
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    cfg = config_from_args(parser.parse_args(["--dataset", "voc0712", "--image-size", "320"]))
    assert cfg["input_size"] == 320 and cfg["data"]["resize"]["image_size"] == 320
    assert cfg["model"]["options"]["min_size"] == cfg["model"]["options"]["max_size"] == 320
