"""A checkout receipt from one image's detections: how many of each product, and which boxes.

The count rule is the one the RPC checkout metrics use (hl_detect.checkout.counting): the
rule's suppression (none for "per_class", near-duplicates across classes for "agnostic"),
then every detection with score >= its class's threshold is one item. Each line keeps the
detections it counts (box in the original image's pixels, score) so a till can show them,
and names the product by its dataset category id, name and supercategory (products.py).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Sequence, Union

import numpy as np

from .products import Category, category_of, fallback_categories
from .counting import DEFAULT_AGNOSTIC_IOU, count_mask
from ..evaluation.records import make_detections


def _numpy(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def counted_items(prediction: dict, thresholds=0.5, count_rule: str = "per_class",
                  agnostic_iou: float = DEFAULT_AGNOSTIC_IOU) -> np.ndarray:
    """bool [D]: which of the prediction's detections are items."""
    labels = _numpy(prediction["labels"]).astype(np.int64).reshape(-1)
    dets = make_detections(np.zeros(len(labels)), labels, _numpy(prediction["scores"]), _numpy(prediction["boxes"]))
    return count_mask(dets, thresholds, count_rule, agnostic_iou)


def make_receipt(prediction: dict, categories: Sequence[Union[Category, str]], score_threshold=0.5, image: str = "",
                 count_rule: str = "per_class", agnostic_iou: float = DEFAULT_AGNOSTIC_IOU) -> dict:
    """{"image", "score_threshold", "count_rule", "items": [{"label", "category_id", "product",
    "supercategory", "count", "detections": [{"box_xyxy", "score"}]}], "total_items"}.

    ``categories``: the model's (products.py), or plain class names (ids 1..C)."""
    if categories and isinstance(categories[0], str):
        categories = fallback_categories(categories)
    keep = counted_items(prediction, score_threshold, count_rule, agnostic_iou)
    boxes = _numpy(prediction["boxes"]).reshape(-1, 4)[keep]
    scores, labels = _numpy(prediction["scores"]).reshape(-1)[keep], _numpy(prediction["labels"]).reshape(-1)[keep]
    lines = defaultdict(list)
    for box, score, label in sorted(zip(boxes.tolist(), scores.tolist(), labels.tolist()), key=lambda t: -t[1]):
        lines[int(label)].append({"box_xyxy": [round(v, 2) for v in box], "score": round(float(score), 4)})
    items = []
    for label in sorted(lines):
        cat = category_of(categories, label)
        items.append({"label": label, "category_id": cat.category_id, "product": cat.name,
                      "supercategory": cat.supercategory, "count": len(lines[label]), "detections": lines[label]})
    threshold = np.asarray(score_threshold, dtype=np.float64)
    return {"image": image, "score_threshold": float(threshold) if threshold.ndim == 0 else threshold.tolist(),
            "count_rule": count_rule, **({"agnostic_iou": agnostic_iou} if count_rule == "agnostic" else {}),
            "items": items, "total_items": int(sum(item["count"] for item in items))}


def receipt_lines(receipt: dict) -> list[str]:
    """The receipt as text lines, one product per line."""
    width = max([len(item["product"]) for item in receipt["items"]] + [12])
    lines = [f"RECEIPT  {receipt['image']}".rstrip(), "=" * (width + 8)]
    lines += [f"{item['count']:>4} x  {item['product']}" for item in receipt["items"]] or ["   (empty tray)"]
    total = receipt["total_items"]
    lines += ["-" * (width + 8), f"{total:>4} item{'s' if total != 1 else ''}"]
    return lines


def format_receipt(receipt: dict) -> str:
    return "\n".join(receipt_lines(receipt)) + "\n"
