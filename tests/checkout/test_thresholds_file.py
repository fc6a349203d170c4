"""checkout_thresholds.json: per-class thresholds keyed by category (label, category_id, name),
matched to the model's categories by id; the old plain list (by label) still read."""
import json

import pytest

from hl_detect.checkout.products import Category
from hl_detect.checkout.settings import checkout_settings
from hl_detect.checkout.thresholds_file import class_thresholds, load_thresholds, thresholds_record
from hl_detect.errors import ConfigError

# RPC-like: ids neither contiguous nor in name order
MODEL = [Category(1, 993, "cola", "drink"), Category(2, 1000, "chips", "food"), Category(3, 1007, "soap")]
SELECTION = {"criterion": "highest cAcc", "rules": {"per_class": {"agnostic_iou": None, "rows": [
    {"threshold": 0.5, "source": "the run's config"}, {"threshold": 0.4, "source": "chosen on val"},
    {"threshold": [0.3, 0.6, 0.45], "source": "per class, calibrated on val"}]}}}


def write(tmp_path, class_entries, name="checkout_thresholds.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"count_rule": "per_class", "agnostic_iou": None, "threshold": 0.4,
                                "class_thresholds": class_entries, "chosen_on": "val"}))
    return path


def test_record_keys_thresholds_by_category_and_reads_back(tmp_path):
    record = thresholds_record(SELECTION, "per_class", "val.json", MODEL)
    assert record["class_thresholds"] == [
        {"label": 1, "category_id": 993, "name": "cola", "threshold": 0.3},
        {"label": 2, "category_id": 1000, "name": "chips", "threshold": 0.6},
        {"label": 3, "category_id": 1007, "name": "soap", "threshold": 0.45}]
    assert (record["threshold"], record["chosen_on"]) == (0.4, "val.json")
    path = write(tmp_path, list(reversed(record["class_thresholds"])))  # keyed by id: file order does not matter
    assert class_thresholds(load_thresholds(path), path, MODEL).tolist() == [0.3, 0.6, 0.45]
    assert class_thresholds(load_thresholds(path), path).tolist() == [0.3, 0.6, 0.45]  # no model: label order
    assert checkout_settings({}, thresholds_file=path, per_class=True, categories=MODEL).threshold.tolist() == \
        [0.3, 0.6, 0.45]


def test_old_list_form_still_reads(tmp_path):
    path = write(tmp_path, [0.3, 0.6, 0.45])  # a file written before entries carried their category
    assert checkout_settings({}, thresholds_file=path, per_class=True, categories=MODEL).threshold.tolist() == \
        [0.3, 0.6, 0.45]
    with pytest.raises(ConfigError, match="must be 2 finite numbers, one per class; the file has 3 values"):
        checkout_settings({}, thresholds_file=path, per_class=True, categories=MODEL[:2])


@pytest.mark.parametrize("change, message", [
    (lambda e: e[1].update(category_id=1001), "the model's category 1000 'chips' \\(label 2\\) is not in the file"),
    (lambda e: e[0].update(name="pepsi"), "category 993 is 'pepsi' in the file, 'cola' in the model"),
    (lambda e: e.append({"label": 4, "category_id": 5, "name": "extra", "threshold": 0.5}),
     "the file's category 5 'extra' is not one of the model's"),
    (lambda e: e.pop(), "the model's category 1007 'soap' \\(label 3\\) is not in the file"),
])
def test_a_file_for_other_categories_is_refused_naming_the_first_difference(tmp_path, change, message):
    entries = thresholds_record(SELECTION, "per_class", "val", MODEL)["class_thresholds"]
    change(entries)
    path = write(tmp_path, entries)
    with pytest.raises(ConfigError, match="do not match the model's categories: " + message) as error:
        checkout_settings({}, thresholds_file=path, per_class=True, categories=MODEL)
    assert str(path) in str(error.value) and "eval_det.py --checkout --sweep" in error.value.hint


def test_unreadable_entries_are_user_errors(tmp_path):
    entries = thresholds_record(SELECTION, "per_class", "val", MODEL)["class_thresholds"]
    for bad, message in (([{**entries[0], "threshold": None}, *entries[1:]], "lacks its category_id, name or threshold"),
                         ([entries[0], {**entries[1], "category_id": 993}, entries[2]], "appears twice"),
                         ([{**entries[0], "threshold": float("nan")}, *entries[1:]], "must be finite numbers")):
        path = write(tmp_path, bad)
        with pytest.raises(ConfigError, match=message):
            checkout_settings({}, thresholds_file=path, per_class=True, categories=MODEL)
