"""Per-split data settings (data.train / data.test / data.val over the shared data.*), the
test split labelled by the training categories, and the refusals: an empty split, a test
split that shares images with the training split."""
import pytest

from data_helpers import write_coco, write_image
from hl_detect.run.config import load_config, dataset_config_path
from hl_detect.data import DatasetError
from hl_detect.data.splits import build_datasets, describe_split, split_config
from hl_detect.errors import ConfigError, ConfigKeyError


def test_section_over_shared_settings():
    data = {"kind": "coco", "root": "r", "options": {"num_classes": 3, "strict": False},
            "train": {"split": "a", "root": None, "options": {"ann_file": "train.json"}},
            "test": {"split": "b", "root": "elsewhere", "options": {"strict": True}}}
    train, test = split_config(data, "train"), split_config(data, "test")
    assert train["root"] == "r" and train["split"] == "a"
    assert train["options"] == {"num_classes": 3, "strict": False, "ann_file": "train.json"}
    assert test["root"] == "elsewhere" and test["options"] == {"num_classes": 3, "strict": True}
    assert split_config(data, "val") is None
    legacy = {"kind": "voc", "train_split": "old", "test_split": "old_test", "train": {"split": "new"}}
    assert split_config(legacy, "train")["split"] == "old" and split_config(legacy, "test")["split"] == "old_test"


def test_overrides_reach_the_sections():
    cfg = load_config([dataset_config_path("rpc")], ["data.test.options.ann_file=t.json", "data.test.root=/x",
                                                      "data.train.split=val"])
    assert split_config(cfg["data"], "test")["options"]["ann_file"] == "t.json"
    assert split_config(cfg["data"], "test")["root"] == "/x" and split_config(cfg["data"], "train")["split"] == "val"
    with pytest.raises(ConfigKeyError):
        load_config([dataset_config_path("rpc")], ["data.train_split=test"])


def coco_files(tmp_path):
    for f in ("a.jpg", "b.jpg", "c.jpg"):
        write_image(tmp_path / "img" / f, 32, 24)
    cats = [dict(id=30, name="thirty"), dict(id=4, name="four")]
    train = write_coco(tmp_path / "train.json", [dict(id=1, file_name="a.jpg"), dict(id=2, file_name="b.jpg")],
                       [dict(id=1, image_id=1, category_id=30, bbox=[1, 1, 9, 9]),
                        dict(id=2, image_id=2, category_id=4, bbox=[1, 1, 9, 9])], cats)
    test = write_coco(tmp_path / "test.json", [dict(id=3, file_name="c.jpg")],
                      [dict(id=1, image_id=3, category_id=30, bbox=[2, 2, 9, 9])], cats[:1])  # lacks 'four'
    return train, test


def config(tmp_path, train, test, **data):
    return {"seed": 0, "data": {"kind": "coco", "root": str(tmp_path), "resize": {}, "options": {},
                                "train": {"split": "train", "options": {"ann_file": str(train), "img_dir": str(tmp_path / "img")}},
                                "test": {"split": "test", "options": {"ann_file": str(test), "img_dir": str(tmp_path / "img")}},
                                **data}}


def test_test_split_follows_training_categories(tmp_path):
    train, test = build_datasets(config(tmp_path, *coco_files(tmp_path)))
    assert train.classes == test.classes == ["four", "thirty"]  # ascending id: 4, 30
    assert test[0][1]["labels"].tolist() == [2]  # 'thirty', though the test file lists it first and alone
    assert describe_split("test", test) is None  # every listed image used, nothing to report


def test_training_on_the_test_images_is_refused(tmp_path):
    train_json, _ = coco_files(tmp_path)
    same = config(tmp_path, train_json, train_json)  # same file and folder under two split names
    with pytest.raises(ConfigError, match=r"test split shares 2 of its 2 images with the training split"):
        build_datasets(same)
    build_datasets({**same, "data": {**same["data"], "allow_train_test_overlap": True}})


def test_empty_split_is_an_error(tmp_path):
    train, _ = coco_files(tmp_path)
    empty = write_coco(tmp_path / "empty.json", [dict(id=9, file_name="gone.jpg")], [], [dict(id=30, name="thirty")])
    with pytest.raises(DatasetError, match=r"empty\.json: the test split has no usable images \(1 listed; "
                                           r"1 skipped image\)"):
        build_datasets(config(tmp_path, train, empty))


def test_test_category_the_training_lacks_stops_the_run_or_is_ignored(tmp_path):
    train, _ = coco_files(tmp_path)
    extra = write_coco(tmp_path / "extra.json", [dict(id=3, file_name="c.jpg")],
                       [dict(id=1, image_id=3, category_id=99, bbox=[2, 2, 9, 9]),
                        dict(id=2, image_id=3, category_id=4, bbox=[1, 1, 5, 5])],
                       [dict(id=99, name="ninety-nine"), dict(id=4, name="four")])
    cfg = config(tmp_path, train, extra)
    with pytest.raises(DatasetError, match=r"extra\.json: category id 99 'ninety-nine' \(1 objects\) is not one "
                                           r"of the model's 2 categories"):
        build_datasets(cfg)
    cfg["data"]["test"]["options"]["ignore_unknown_categories"] = True
    _, test = build_datasets(cfg)
    assert test.ignored_categories == {"id 99 'ninety-nine'": 1} and test[0][1]["labels"].tolist() == [1]
    assert describe_split("test", test) == ("[data] test: 1 images; at load time: 1 object dropped (unknown category "
                                            "(ignored)) (tools/check_dataset.py lists them)")
