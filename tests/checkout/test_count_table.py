"""predict --csv: one row per image, a column per model category (its name, label order) and
the total, counts equal to the receipt's, each row on disk as soon as it is added."""
import csv

import pytest
import torch

from hl_detect.checkout.count_table import CountTable
from hl_detect.checkout.products import Category
from hl_detect.checkout.receipt import make_receipt
from hl_detect.errors import UserError

MODEL = [Category(1, 993, "cola"), Category(2, 1000, "chips"), Category(3, 1007, "soap, 2 pack")]


def receipt(labels, scores, rule="per_class"):
    boxes = torch.tensor([[0, 0, 10, 10]] * len(labels), dtype=torch.float32)
    prediction = {"boxes": boxes, "labels": torch.tensor(labels, dtype=torch.int64), "scores": torch.tensor(scores)}
    return make_receipt(prediction, MODEL, 0.5, count_rule=rule)


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_rows_follow_the_receipts_and_are_written_as_they_come(tmp_path):
    path = tmp_path / "sub" / "counts.csv"  # its folder is made
    with CountTable(path, MODEL) as table:
        table.add("trays/a.jpg", receipt([3, 1, 3, 2], [0.9, 0.8, 0.7, 0.3]))  # chips below the threshold
        assert read(path) == [["image", "cola", "chips", "soap, 2 pack", "total"], ["trays/a.jpg", "1", "0", "2", "3"]]
        table.add("trays/empty.jpg", receipt([], []))
        # agnostic: the two overlapping boxes of different classes are one item (the higher score's)
        table.add("b.jpg", receipt([1, 2], [0.9, 0.8], rule="agnostic"))
    assert read(path)[2:] == [["trays/empty.jpg", "0", "0", "0", "0"], ["b.jpg", "1", "0", "0", "1"]]


def test_an_unwritable_path_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match=f"--csv {tmp_path}: cannot write it"):
        CountTable(tmp_path, MODEL)  # a folder
