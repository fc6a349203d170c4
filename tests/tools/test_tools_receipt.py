"""Receipts: counts per product above the score threshold, JSON and text forms."""
import torch

from hl_detect.receipt import format_receipt, make_receipt

NAMES = ["cola", "chips", "soap"]


def prediction(labels, scores):
    n = len(labels)
    return {"boxes": torch.zeros(n, 4), "labels": torch.tensor(labels, dtype=torch.int64), "scores": torch.tensor(scores)}


def test_counts_products_above_threshold():
    receipt = make_receipt(prediction([1, 1, 3, 2, 1], [0.9, 0.5, 0.7, 0.49, 0.2]), NAMES, 0.5, image="tray.jpg")
    assert receipt["items"] == [{"label": 1, "product": "cola", "count": 2}, {"label": 3, "product": "soap", "count": 1}]
    assert receipt["total_items"] == 3 and receipt["image"] == "tray.jpg"
    text = format_receipt(receipt)
    assert "   2 x  cola" in text and "   1 x  soap" in text and "   3 items" in text and "chips" not in text


def test_empty_tray():
    receipt = make_receipt(prediction([], []), NAMES, 0.5, image="empty.jpg")
    assert receipt["items"] == [] and receipt["total_items"] == 0
    assert "(empty tray)" in format_receipt(receipt) and "0 items" in format_receipt(receipt)
