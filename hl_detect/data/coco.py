"""COCO-format JSON loader (pycocotools): RPC and any other COCO-style set.

Category ids (any integers, e.g. RPC's 1..200 or a 113-class subset) map to contiguous
labels 1..C in ascending id order; classes[k - 1] is the category name of label k.
COCO bbox is [x, y, w, h] in 0-based continuous pixels -> xyxy [x, y, x + w, y + h].
iscrowd objects are never training targets; eval datasets keep them with difficult=True,
the flag evaluation ignores (as COCOeval's 'ignore').
"""
from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO

from .base import DetectionDataset, ImageRecord, finalize_records
from .category_select import select_categories
from .checks import SKIPPED_IMAGE, DROPPED_OBJECT, DatasetError, ProblemLog, safe_join, sanitize_boxes
from .image_io import read_image_size

RPC_SPLITS = ("train", "val", "test")


def rpc_paths(root, split: str) -> tuple[Path, Path]:
    """RPC layout: <root>/instances_{split}2019.json with images in <root>/{split}2019/."""
    if split not in RPC_SPLITS:
        raise DatasetError(root, f"unknown RPC split {split!r} (one of {RPC_SPLITS})")
    root = Path(root)
    return root / f"instances_{split}2019.json", root / f"{split}2019"


def load_coco_json(ann_file) -> dict:
    """Read and structurally validate a COCO JSON; every failure is a DatasetError."""
    try:
        with open(ann_file) as f:
            data = json.load(f)
    except FileNotFoundError:
        raise DatasetError(ann_file, "annotation file not found") from None
    except json.JSONDecodeError as e:
        raise DatasetError(ann_file, f"malformed JSON ({e})") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list)
                                              for k in ("images", "annotations", "categories")):
        raise DatasetError(ann_file, "not a COCO detection file: needs lists 'images', "
                                     "'annotations', 'categories'")
    for key in ("images", "categories", "annotations"):
        try:
            ids = [int(x["id"]) for x in data[key]]
        except (KeyError, TypeError, ValueError):
            raise DatasetError(ann_file, f"an entry of '{key}' has no integer 'id'") from None
        dup = [i for i, n in Counter(ids).items() if n > 1]
        if dup:  # pycocotools would silently keep only the last one
            raise DatasetError(ann_file, f"duplicate {key[:-1]} ids {sorted(dup)[:10]}")
    return data


class COCODetection(DetectionDataset):
    """COCO-style detection dataset.

    ann_file: the JSON; img_dir: folder that `file_name`s are relative to.
    num_classes: if given, the JSON must have exactly this many categories (e.g. 113 or 200
    for RPC), which catches pointing a config at the wrong variant; counted after
    ``categories`` (a subset of category ids) and ``category_level`` ("sku" | "super") are
    applied (category_select.py).
    """

    def __init__(self, ann_file, img_dir, train: bool, transforms=None,
                 keep_difficult: bool | None = None, remove_empty: bool | None = None,
                 verify_images: bool = False, strict: bool = False,
                 num_classes: int | None = None, categories=None, category_level: str = "sku"):
        ann_file, img_dir = Path(ann_file), Path(img_dir)
        data = load_coco_json(ann_file)
        if categories is not None or category_level != "sku":  # category_select.py
            data = select_categories(data, categories, category_level, ann_file)
        if not img_dir.is_dir():
            raise DatasetError(img_dir, "image folder not found")
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
            self.coco = COCO()
            self.coco.dataset = data
            self.coco.createIndex()
        self.cat_ids = sorted(self.coco.cats)
        if num_classes is not None and len(self.cat_ids) != num_classes:
            raise DatasetError(ann_file, f"has {len(self.cat_ids)} categories, expected {num_classes}")
        self.cat_id_to_label = {c: i + 1 for i, c in enumerate(self.cat_ids)}
        self.label_to_cat_id = {v: k for k, v in self.cat_id_to_label.items()}
        classes = [str(self.coco.cats[c].get("name", c)) for c in self.cat_ids]

        log = ProblemLog(strict)
        for a in data["annotations"]:
            if a.get("image_id") not in self.coco.imgs:
                log.add(ann_file, f"annotation {a['id']} refers to unknown image id "
                                  f"{a.get('image_id')!r}", DROPPED_OBJECT)
            if a.get("category_id") not in self.coco.cats:
                raise DatasetError(ann_file, f"annotation {a['id']} has unknown category id "
                                             f"{a.get('category_id')!r}")
        records = [r for img in data["images"]
                   if (r := self._record(img, ann_file, img_dir, log)) is not None]
        # crowd regions are never training targets, whatever keep_difficult says
        if train:
            records = [r.select(~r.difficult) for r in records]
        records = finalize_records(
            records, keep_difficult=(not train) if keep_difficult is None else keep_difficult,
            remove_empty=train if remove_empty is None else remove_empty, log=log,
            verify_images=verify_images)
        super().__init__(records, classes, transforms, log, str(ann_file))

    def _record(self, img: dict, ann_file: Path, img_dir: Path, log: ProblemLog):
        file_name = str(img.get("file_name", ""))
        path = safe_join(img_dir, file_name) if file_name else None
        if path is None:
            log.add(ann_file, f"image {img['id']}: file_name {file_name!r} is empty or points "
                              f"outside the image folder {img_dir}", SKIPPED_IMAGE)
            return None
        if not path.is_file():
            log.add(path, "image file not found", SKIPPED_IMAGE)
            return None
        try:
            width, height = int(img["width"]), int(img["height"])
        except (KeyError, TypeError, ValueError):
            width = height = 0
        if width <= 0 or height <= 0:
            try:
                height, width = read_image_size(path)
            except DatasetError as e:
                log.add(path, e.problem, SKIPPED_IMAGE)
                return None
        anns = self.coco.imgToAnns.get(img["id"], [])
        boxes, labels, crowd = [], [], []
        for a in anns:
            try:
                x, y, w, h = (float(v) for v in a["bbox"])
            except (KeyError, TypeError, ValueError):
                log.add(path, f"annotation {a['id']}: missing or malformed bbox", DROPPED_OBJECT)
                continue
            boxes.append([x, y, x + w, y + h])
            labels.append(self.cat_id_to_label[a["category_id"]])
            crowd.append(bool(a.get("iscrowd", 0)))
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        names = [f"{self.coco.cats[self.label_to_cat_id[l]].get('name')} (ann {a['id']})"
                 for l, a in zip(labels, anns)] if len(labels) == len(anns) else None
        keep = sanitize_boxes(boxes, width, height, path, log, names)
        return ImageRecord(path, int(img["id"]), height, width, boxes[keep],
                           np.asarray(labels, np.int64)[keep], np.asarray(crowd, bool)[keep])
