"""The model's classes as a till knows them: label (1..C) -> COCO category id, name, supercategory.

A checkpoint may store its dataset's categories in label order, as COCO-style dicts
(``categories``: [{"id", "name", "supercategory"}, ...]) or as parallel lists
(``category_ids``, optional ``supercategories``). A checkpoint without them (written before
they were stored, or trained on VOC) falls back to ids 1..C with the class names and no
supercategory, so receipts still say which label is which.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Sequence

from .errors import CheckpointError


@dataclass(frozen=True)
class Category:
    label: int  # 1..C, the model's output
    category_id: int  # the dataset's id (the SKU for RPC)
    name: str
    supercategory: Optional[str] = None

    def as_dict(self) -> dict:
        return asdict(self)


def fallback_categories(class_names: Sequence[str]) -> list[Category]:
    return [Category(k, k, str(name)) for k, name in enumerate(class_names, start=1)]


def model_categories(checkpoint: dict, class_names: Sequence[str]) -> list[Category]:
    """The categories stored in ``checkpoint`` (a loaded dict), else the fallback."""
    stored = checkpoint.get("categories")
    if stored:
        # a VOC-trained model stores id None (its classes are names only): 1..C as the fallback does
        ids = [c.get("id", c.get("category_id")) for c in stored]
        cats = [Category(k, int(i) if i is not None else k, str(c.get("name", class_names[k - 1])),
                         c.get("supercategory")) for k, (i, c) in enumerate(zip(ids, stored), start=1)]
    elif checkpoint.get("category_ids"):
        supers = list(checkpoint.get("supercategories") or [None] * len(checkpoint["category_ids"]))
        cats = [Category(k, int(i), str(name), s) for k, (i, name, s) in
                enumerate(zip(checkpoint["category_ids"], class_names, supers), start=1)]
    else:
        return fallback_categories(class_names)
    if len(cats) != len(class_names):
        raise CheckpointError(f"the checkpoint lists {len(cats)} categories for {len(class_names)} classes")
    return cats


def read_model_categories(path, class_names: Sequence[str]) -> list[Category]:
    """``model_categories`` of a checkpoint file or run folder, read memory-mapped (cheap)."""
    import torch

    from .engine.checkpoint import load_checkpoint

    path = Path(path)
    path = path / "checkpoint.pt" if path.is_dir() else path
    try:  # the tensors stay on disk: only the small entries are read
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # an old, non-zip file: read it whole (load_checkpoint names any problem)
        checkpoint = load_checkpoint(path)
    return model_categories(checkpoint, class_names)


def category_of(categories: Sequence[Category], label: int) -> Category:
    """Category of a model label; an unexpected label gets a placeholder, never an IndexError."""
    return categories[label - 1] if 0 < label <= len(categories) else Category(label, label, str(label))
