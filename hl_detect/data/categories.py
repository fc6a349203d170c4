"""A model's class list, and how a dataset's categories map onto it.

A category is a plain dict {"id": int or None, "name": str, "supercategory": str or None}
(plain, so a checkpoint loaded with weights_only=True carries it). A model's list is in
label order: label k is categories[k - 1]; 0 is background.

Matching a dataset to a model (evaluation, a test split built for a trained model):
  - COCO data match by category id, the key a COCO file is built on (RPC's SKU); the name
    of a matched id must be the model's too, else the files disagree on what an id means.
  - VOC data have names only and match by name.
  - A model whose categories carry no id (trained on VOC, or a checkpoint that stored names
    only) is matched by name.
A dataset category the model lacks is the caller's to report (fatal, or dropped and counted
when the user asks to ignore it); a model category the dataset lacks is simply absent.
"""
from __future__ import annotations

from collections import Counter


def make_categories(names, ids=None, supercategories=None) -> list[dict]:
    ids = list(ids) if ids is not None else [None] * len(names)
    sup = list(supercategories) if supercategories is not None else [None] * len(names)
    return [{"id": None if i is None else int(i), "name": str(n), "supercategory": s}
            for i, n, s in zip(ids, names, sup)]


def from_coco(json_categories) -> list[dict]:
    """COCO 'categories' entries -> our list in ascending id order (labels 1..C)."""
    cats = sorted(json_categories, key=lambda c: int(c["id"]))
    return make_categories([c.get("name", c["id"]) for c in cats], [c["id"] for c in cats],
                           [c.get("supercategory") for c in cats])


def has_ids(categories) -> bool:
    return bool(categories) and all(c.get("id") is not None for c in categories)


def describe(category: dict) -> str:
    """"id 103 '103_drink'" or "'dog'"."""
    return (f"id {category['id']} " if category.get("id") is not None else "") + repr(category["name"])


def name_to_label(categories, source="the model") -> dict[str, int]:
    names = [c["name"] for c in categories]
    twice = [n for n, k in Counter(names).items() if k > 1]
    if twice:  # matching by name would be ambiguous
        raise ValueError(f"{source} names several categories {sorted(twice)[:5]}; they can only be matched by id")
    return {n: k for k, n in enumerate(names, start=1)}


def coco_label_map(model_categories, json_categories) -> tuple[dict[int, int], list[dict], list[str]]:
    """Map a COCO file's category ids to the model's labels.

    -> ({json category id: model label}, json categories the model lacks, disagreements),
    where a disagreement is an id both know under different names (a sentence, fatal).
    """
    mapping, unknown, disagree = {}, [], []
    if has_ids(model_categories):
        by_id = {c["id"]: (k, c) for k, c in enumerate(model_categories, start=1)}
        for c in from_coco(json_categories):
            if c["id"] not in by_id:
                unknown.append(c)
                continue
            label, known = by_id[c["id"]]
            if known["name"] != c["name"]:
                disagree.append(f"category id {c['id']} is {c['name']!r} here but {known['name']!r} "
                                f"in the model")
                continue
            mapping[c["id"]] = label
    else:
        by_name = name_to_label(model_categories)
        for c in from_coco(json_categories):
            if c["name"] in by_name:
                mapping[c["id"]] = by_name[c["name"]]
            else:
                unknown.append(c)
    return mapping, unknown, disagree


def checkpoint_categories(checkpoint: dict) -> list[dict]:
    """A checkpoint's categories in label order (an upgraded one: engine/checkpoint_upgrade.py
    gives one written before they were stored names only, id None, matched by name)."""
    return list(checkpoint["categories"])
