"""Receipts: counts per product above the score threshold, the count rule, category ids, JSON
and text forms; the model's categories from a checkpoint, with the 1..C fallback."""
import torch

from hl_detect.checkout.products import Category, fallback_categories, till_categories
from hl_detect.data.categories import make_categories
from hl_detect.checkout.receipt import format_receipt, make_receipt

NAMES = ["cola", "chips", "soap"]


def prediction(labels, scores, boxes=None):
    n = len(labels)
    boxes = torch.zeros(n, 4) if boxes is None else torch.tensor(boxes, dtype=torch.float32)
    return {"boxes": boxes, "labels": torch.tensor(labels, dtype=torch.int64), "scores": torch.tensor(scores)}


def test_counts_products_above_threshold():
    receipt = make_receipt(prediction([1, 1, 3, 2, 1], [0.9, 0.5, 0.7, 0.49, 0.2]), NAMES, 0.5, image="tray.jpg")
    assert [(i["label"], i["category_id"], i["product"], i["count"]) for i in receipt["items"]] == \
        [(1, 1, "cola", 2), (3, 3, "soap", 1)]
    assert receipt["total_items"] == 3 and receipt["image"] == "tray.jpg" and receipt["count_rule"] == "per_class"
    # each line keeps its detections, highest score first
    assert [d["score"] for d in receipt["items"][0]["detections"]] == [0.9, 0.5]
    assert receipt["items"][0]["detections"][0]["box_xyxy"] == [0.0, 0.0, 0.0, 0.0]
    text = format_receipt(receipt)
    assert "   2 x  cola" in text and "   1 x  soap" in text and "   3 items" in text and "chips" not in text


def test_agnostic_rule_makes_one_line_per_physical_item():
    # cola .9 and chips .6 on the same box (IoU 0.818), soap elsewhere
    p = prediction([1, 2, 3], [0.9, 0.6, 0.8], [[0, 0, 10, 10], [1, 0, 11, 10], [20, 0, 30, 10]])
    assert make_receipt(p, NAMES, 0.5)["total_items"] == 3
    receipt = make_receipt(p, NAMES, 0.5, count_rule="agnostic", agnostic_iou=0.5)
    assert [i["product"] for i in receipt["items"]] == ["cola", "soap"] and receipt["agnostic_iou"] == 0.5


def test_per_class_thresholds_and_category_ids():
    cats = [Category(1, 1040, "cola", "drink"), Category(2, 7, "chips", "snack"), Category(3, 99, "soap", None)]
    receipt = make_receipt(prediction([1, 2], [0.45, 0.45]), cats, [0.4, 0.5, 0.5])
    assert receipt["items"] == [{"label": 1, "category_id": 1040, "product": "cola", "supercategory": "drink",
                                 "count": 1, "detections": [{"box_xyxy": [0.0, 0.0, 0.0, 0.0], "score": 0.45}]}]
    assert receipt["score_threshold"] == [0.4, 0.5, 0.5]


def test_empty_tray():
    receipt = make_receipt(prediction([], []), NAMES, 0.5, image="empty.jpg")
    assert receipt["items"] == [] and receipt["total_items"] == 0
    assert "(empty tray)" in format_receipt(receipt) and "0 items" in format_receipt(receipt)


def test_till_categories_stored_and_fallback():
    expected_fallback = [Category(1, 1, "cola"), Category(2, 2, "chips"), Category(3, 3, "soap")]
    assert fallback_categories(NAMES) == expected_fallback
    # a checkpoint without ids (VOC, or older): the data layer's names-only dicts -> labels as ids
    assert till_categories(make_categories(NAMES)) == expected_fallback
    stored = [{"id": 40, "name": "cola", "supercategory": "drink"}, {"id": 3, "name": "chips", "supercategory": "snack"},
              {"id": 7, "name": "soap", "supercategory": "home"}]
    assert till_categories(stored) == [Category(1, 40, "cola", "drink"), Category(2, 3, "chips", "snack"),
                                       Category(3, 7, "soap", "home")]