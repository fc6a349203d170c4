"""A checkout receipt from one image's detections: how many of each product.

The count rule is the one the RPC checkout metrics use (hl_detect.evaluation.checkout):
every detection with score >= the threshold is one item of its class.
"""
from __future__ import annotations

from collections import Counter
from typing import Sequence



def make_receipt(prediction: dict, class_names: Sequence[str], score_threshold: float = 0.5, image: str = "") -> dict:
    """{"image", "score_threshold", "items": [{"label", "product", "count"}], "total_items"}."""
    keep = prediction["scores"].detach().cpu() >= score_threshold
    counts = Counter(int(label) for label in prediction["labels"].detach().cpu()[keep])
    items = [{"label": label, "product": class_names[label - 1] if 0 < label <= len(class_names) else str(label), "count": n}
             for label, n in sorted(counts.items())]
    return {"image": image, "score_threshold": score_threshold, "items": items, "total_items": int(sum(counts.values()))}


def format_receipt(receipt: dict) -> str:
    """The receipt as plain text, one product per line."""
    width = max([len(item["product"]) for item in receipt["items"]] + [12])
    lines = [f"RECEIPT  {receipt['image']}".rstrip(), "=" * (width + 8)]
    lines += [f"{item['count']:>4} x  {item['product']}" for item in receipt["items"]] or ["   (empty tray)"]
    lines += ["-" * (width + 8), f"{receipt['total_items']:>4} item{'s' if receipt['total_items'] != 1 else ''}"]
    return "\n".join(lines) + "\n"


