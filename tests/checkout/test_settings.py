"""Which threshold and count rule a tool counts with, and where it says they came from; the
validation split of a run; RPC levels read from a COCO-format file the test writes."""
import json

import numpy as np
import pytest
from PIL import Image

from hl_detect.checkout.products import fallback_categories
from hl_detect.checkout.settings import checkout_settings, default_val_split, image_levels
from hl_detect.data import COCODetection
from hl_detect.errors import ConfigError, MissingFileError


def test_precedence_command_line_then_file_then_config_then_defaults(tmp_path):
    old_run = {"data": {"kind": "synthetic"}}  # a run from before the keys existed
    s = checkout_settings(old_run)
    assert (s.threshold, s.source, s.count_rule, s.agnostic_iou) == (0.5, "the run's config", "per_class", 0.5)
    cfg = {"checkout_threshold": 0.4, "checkout_count_rule": "agnostic", "checkout_agnostic_iou": 0.6}
    s = checkout_settings(cfg)
    assert (s.threshold, s.count_rule, s.agnostic_iou) == (0.4, "agnostic", 0.6)
    path = tmp_path / "checkout_thresholds.json"
    path.write_text(json.dumps({"count_rule": "per_class", "agnostic_iou": None, "threshold": 0.35,
                                "class_thresholds": [0.3, 0.6], "chosen_on": "val"}))
    s = checkout_settings(cfg, thresholds_file=tmp_path)  # a folder: its checkout_thresholds.json
    assert (s.threshold, s.count_rule) == (0.35, "per_class") and "chosen on val" in s.source
    assert s.agnostic_iou == 0.6  # the file's rule has no IoU: the config's, not None
    s = checkout_settings(cfg, thresholds_file=path, per_class=True)
    assert s.threshold.tolist() == [0.3, 0.6] and "per class" in s.source
    s = checkout_settings(cfg, threshold=0.9, count_rule="per_class", thresholds_file=path)
    assert (s.threshold, s.source, s.count_rule) == (0.9, "the command line", "per_class")


def test_bad_thresholds_files_are_user_errors(tmp_path):
    with pytest.raises(MissingFileError, match="none.json") as missing:
        checkout_settings({}, thresholds_file=tmp_path / "none.json")
    assert "eval_det.py" in missing.value.hint
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ConfigError, match="not a checkout thresholds file"):
        checkout_settings({}, thresholds_file=tmp_path / "bad.json")
    with pytest.raises(ConfigError, match="count rule"):
        checkout_settings({"checkout_count_rule": "per-class"})


def test_thresholds_file_must_fit_the_rule_and_the_classes(tmp_path):
    path = tmp_path / "checkout_thresholds.json"
    path.write_text(json.dumps({"count_rule": "per_class", "agnostic_iou": None, "threshold": 0.35,
                                "class_thresholds": [0.3, 0.6], "chosen_on": "val"}))
    with pytest.raises(ConfigError, match="chosen for count rule 'per_class', not 'agnostic'"):
        checkout_settings({}, count_rule="agnostic", thresholds_file=path)
    assert checkout_settings({}, count_rule="per_class", thresholds_file=path).threshold == 0.35
    with pytest.raises(ConfigError, match="3 finite numbers.*has 2 values"):
        checkout_settings({}, thresholds_file=path, per_class=True, categories=fallback_categories("abc"))
    two = fallback_categories("ab")
    assert checkout_settings({}, thresholds_file=path, per_class=True, categories=two).threshold.tolist() == [0.3, 0.6]
    for bad in (None, [0.3, float("nan")], [[0.3, 0.6]]):
        path.write_text(json.dumps({"count_rule": "per_class", "threshold": 0.35, "class_thresholds": bad}))
        with pytest.raises(ConfigError, match="per-class thresholds must be"):
            checkout_settings({}, thresholds_file=path, per_class=True, categories=two)
    with pytest.raises(ConfigError, match="come from a thresholds file"):
        checkout_settings({}, per_class=True)


def test_default_val_split():
    assert default_val_split({"data": {"kind": "voc", "val_split": None}}) is None
    assert default_val_split({"data": {"kind": "rpc", "val_split": "val"}}) == "val"
    assert default_val_split({"data": {"kind": "synthetic"}}) == "val"  # a run from before the key
    assert default_val_split({"data": {"kind": "voc"}}) is None


def test_levels_from_a_coco_file(tmp_path):
    (tmp_path / "img").mkdir()
    images = []
    for i, level in ((1001, "easy"), (1002, "hard"), (1003, None)):
        Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "img" / f"{i}.jpg")
        images.append({"id": i, "file_name": f"{i}.jpg", "width": 30, "height": 20,
                       **({"level": level} if level else {})})
    ann = {"images": images, "categories": [{"id": 7, "name": "cola", "supercategory": "drink"}],
           "annotations": [{"id": 1, "image_id": 1001, "category_id": 7, "bbox": [1, 1, 5, 5], "area": 25, "iscrowd": 0}]}
    (tmp_path / "ann.json").write_text(json.dumps(ann))
    ds = COCODetection(tmp_path / "ann.json", tmp_path / "img", train=False)
    assert image_levels(ds) == {1001: "easy", 1002: "hard"}
    assert image_levels(object()) == {}  # VOC and others: no levels
