"""The model's classes as a till knows them: label (1..C) -> COCO category id, name, supercategory.

The data layer (hl_detect/data/categories.py) keeps the model's categories as COCO-style
dicts, and the checkpoint stores them (``run.load.load_run`` reads them back). This module
turns them into what receipts and detections JSON print; a category without an id (trained
on VOC, or a checkpoint from before ids were stored) gets its label 1..C as the id, so
receipts still say which label is which.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence


@dataclass(frozen=True)
class Category:
    label: int  # 1..C, the model's output
    category_id: int  # the dataset's id (the SKU for RPC)
    name: str
    supercategory: Optional[str] = None


def fallback_categories(class_names: Sequence[str]) -> list[Category]:
    return [Category(k, k, str(name)) for k, name in enumerate(class_names, start=1)]


def till_categories(categories: Sequence[dict]) -> list[Category]:
    """The model's categories as ``load_run`` returns them (dicts in label order with id, name,
    supercategory: hl_detect/data/categories.py) -> one ``Category`` per label. A category
    without an id (a VOC-trained model, or a checkpoint from before ids were stored) takes its
    label as the id, as ``fallback_categories`` does."""
    return [Category(k, int(c["id"]) if c.get("id") is not None else k, str(c["name"]), c.get("supercategory"))
            for k, c in enumerate(categories, start=1)]


def category_of(categories: Sequence[Category], label: int) -> Category:
    """Category of a model label; an unexpected label gets a placeholder, never an IndexError."""
    return categories[label - 1] if 0 < label <= len(categories) else Category(label, label, str(label))
