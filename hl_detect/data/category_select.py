"""Which classes a COCO-format set is trained and scored with: a subset of its category ids,
and/or its SKUs merged into their supercategories (RPC: 200 SKUs in 17 supercategories).

``select_categories(data, categories=None, category_level="sku")`` -> a new COCO dict (the
input is not changed), applied before the loader indexes the file:

- ``categories`` [ids]: keep those categories only (e.g. a 113-class variant of RPC). Objects
  of the other categories are removed from the annotations: in training they are background,
  in evaluation nobody expects them on the receipt. Every id must exist in the file.
- ``category_level`` "super": one class per supercategory, named after it; a category
  without a supercategory is its own class. The new ids are 1..S in the order the
  supercategories first appear in ascending SKU id (RPC numbers its SKUs supercategory by
  supercategory, so the order is RPC's). "sku" (default) keeps the file's categories.
A subset is taken first, then merged, so the two combine.
"""
from __future__ import annotations

from typing import Optional, Sequence

from .checks import DatasetError

CATEGORY_LEVELS = ("sku", "super")


def select_categories(data: dict, categories: Optional[Sequence[int]] = None, category_level: str = "sku",
                      source="annotation file") -> dict:
    if category_level not in CATEGORY_LEVELS:
        raise DatasetError(source, f"category_level must be one of {CATEGORY_LEVELS}, not {category_level!r}")
    cats, anns = list(data["categories"]), list(data["annotations"])
    known = {int(c["id"]) for c in cats}
    for a in anns:  # checked here: dropping or renumbering must not hide a wrong id
        if a.get("category_id") not in known:
            raise DatasetError(source, f"annotation {a.get('id')} has unknown category id {a.get('category_id')!r}")
    if categories is not None:
        wanted = [int(c) for c in categories]
        missing = sorted(set(wanted) - known)
        if missing:
            raise DatasetError(source, f"data.options.categories names ids the file does not have: {missing[:10]}")
        keep = set(wanted)
        cats = [c for c in cats if int(c["id"]) in keep]
        anns = [a for a in anns if a.get("category_id") in keep]
    if category_level == "super":
        cats, anns = _merge_into_supercategories(cats, anns)
    return {**data, "categories": cats, "annotations": anns}


def _merge_into_supercategories(cats, anns):
    group_of, groups = {}, {}
    for c in sorted(cats, key=lambda c: int(c["id"])):
        name = str(c.get("supercategory") or c.get("name"))
        groups.setdefault(name, len(groups) + 1)
        group_of[int(c["id"])] = groups[name]
    merged = [{"id": gid, "name": name, "supercategory": name} for name, gid in groups.items()]
    return merged, [{**a, "category_id": group_of[a["category_id"]]} for a in anns if a.get("category_id") in group_of]
