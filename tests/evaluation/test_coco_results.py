"""COCO results entries: xyxy -> xywh, Python ints and floats, and which category id each label gets."""
import json

import numpy as np
import pytest

from hl_detect.evaluation.coco_results import (check_results_path, coco_results, label_to_category_id,
                                               write_coco_results)

NAMES_ONLY = [{"id": None, "name": n, "supercategory": None} for n in ("cat", "dog", "cow")]  # VOC-trained
WITH_IDS = [{"id": i, "name": n, "supercategory": "animal"} for i, n in ((7, "cat"), (12, "dog"), (40, "cow"))]


class CocoSplit:
    """What label_to_category_id reads of a COCO-format split (hl_detect/data/coco.py)."""

    def __init__(self, cat_id_to_label):
        self.cat_id_to_label = cat_id_to_label


def test_entries_are_xywh_with_python_numbers_and_exact_huge_ids():
    huge = 2**53 + 1  # a float would round it onto 2**53, another image
    results, left_out = coco_results(np.array([huge, 5]), np.array([2, 1]), np.array([0.9, 0.25], np.float32),
                                     np.array([[10.5, 20, 30.5, 60], [0, 0, 1, 2]], np.float32), {1: 7, 2: 12})
    assert left_out == 0
    assert results == [
        {"image_id": huge, "category_id": 12, "bbox": [10.5, 20.0, 20.0, 40.0], "score": pytest.approx(0.9)},
        {"image_id": 5, "category_id": 7, "bbox": [0.0, 0.0, 1.0, 2.0], "score": 0.25}]
    assert all(type(v) is int for r in results for v in (r["image_id"], r["category_id"]))
    json.dumps(results)  # no numpy scalar left


def test_voc_data_use_the_label_and_a_model_trained_on_coco_its_ids():
    assert label_to_category_id(NAMES_ONLY) == {1: 1, 2: 2, 3: 3}
    assert label_to_category_id(WITH_IDS) == {1: 7, 2: 12, 3: 40}


def test_a_coco_file_maps_labels_back_to_its_own_ids():
    # a names-only model matched by name to a file that numbers them 30, 10 (and lacks "cow")
    split = CocoSplit({30: 1, 10: 2})
    ids = label_to_category_id(NAMES_ONLY, split)
    assert ids == {1: 30, 2: 10}  # cow has no id in that file: never numbered as something else there
    results, left_out = coco_results([1, 1, 1], [1, 2, 3], [0.5, 0.5, 0.5], np.zeros((3, 4)), ids)
    assert [r["category_id"] for r in results] == [30, 10] and left_out == 1
    # a model trained on COCO ids, matched by id: the file's ids are the model's
    assert label_to_category_id(WITH_IDS, CocoSplit({7: 1, 12: 2})) == {1: 7, 2: 12, 3: 40}


def test_results_go_to_a_file_not_a_folder(tmp_path):
    from hl_detect.errors import ConfigError

    with pytest.raises(ConfigError, match="is a folder"):
        check_results_path(tmp_path)
    path = write_coco_results(tmp_path / "new" / "results.json", [])
    assert json.loads(path.read_text()) == []
