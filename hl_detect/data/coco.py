"""COCO-format JSON loader (pycocotools): RPC and any other COCO-style set.

Labels: on its own (a training set), the file's category ids (any integers, e.g. RPC's
1..200 or a 113-class subset) map to contiguous labels 1..C in ascending id order. Given a
model's `model_categories` (a test set for a trained model), each category id maps to the label
the model has for that id (hl_detect/data/categories.py), so a test file that lists fewer
or other categories than the training file never shifts a label. A category the model lacks
is fatal unless `ignore_unknown_categories`, which drops its objects and counts them.
COCO bbox is [x, y, w, h] in 0-based continuous pixels -> xyxy [x, y, x + w, y + h].
iscrowd objects are never training targets; eval datasets keep them with difficult=True,
the flag evaluation ignores (as COCOeval's 'ignore'). Image ids stay Python ints (int64
range), never floats: RPC's are 13 digits and others exceed 2^53.
"""
from __future__ import annotations

import contextlib
import io
import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO

from .base import DetectionDataset, ImageRecord, finalize_records, image_size_from_header
from .image_io import DEFAULT_MAX_IMAGE_PIXELS
from .categories import coco_label_map, describe, from_coco
from .category_select import select_categories
from .checks import (DROPPED_OBJECT, FATAL, SKIPPED_IMAGE, DatasetError, ProblemLog,
                     missing_file_reason, safe_join, sanitize_boxes)

RPC_SPLITS = ("train", "val", "test")
INT64_MAX = 2**63 - 1


def rpc_paths(root, split: str) -> tuple[Path, Path]:
    """RPC layout: <root>/instances_{split}2019.json with images in <root>/{split}2019/."""
    if split not in RPC_SPLITS:
        raise DatasetError(root, f"unknown RPC split {split!r} (one of {RPC_SPLITS})")
    root = Path(root)
    return root / f"instances_{split}2019.json", root / f"{split}2019"


def load_coco_json(ann_file, log: ProblemLog | None = None) -> dict:
    """Read and structurally validate a COCO JSON.

    Unreadable or not COCO-shaped: DatasetError at once. Duplicate ids (pycocotools would
    silently keep the last): FATAL entries in `log`, the first occurrence kept so the rest
    of the file can still be checked; without a log they raise."""
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
    own_log = log is None
    log = ProblemLog() if own_log else log
    for key in ("images", "categories", "annotations"):
        try:
            ids = [int(x["id"]) for x in data[key]]
        except (KeyError, TypeError, ValueError):
            raise DatasetError(ann_file, f"an entry of '{key}' has no integer 'id'") from None
        if key == "images" and ids and (max(ids) > INT64_MAX or min(ids) < -INT64_MAX):
            raise DatasetError(ann_file, "image ids must fit in 64 bits (signed)")
        dup = [i for i, n in Counter(ids).items() if n > 1]
        if dup:
            log.add(ann_file, f"duplicate {key[:-1]} ids {sorted(dup)[:10]}", FATAL, f"duplicate {key[:-1]} id")
            seen: set = set()
            data[key] = [x for x in data[key] if not (int(x["id"]) in seen or seen.add(int(x["id"])))]
    if own_log:
        log.raise_if_fatal(ann_file)
    return data


class COCODetection(DetectionDataset):
    """COCO-style detection dataset.

    ann_file: the JSON; img_dir: folder that `file_name`s are relative to (a file there may
    be a symlink to anywhere; a file_name may not climb out with '..' or be absolute).
    num_classes: if given, the JSON must have exactly this many categories (e.g. 113 or 200
    for RPC), which catches pointing a config at the wrong variant; counted after
    ``categories`` (a subset of category ids) and ``category_level`` ("sku" | "super") are
    applied (category_select.py); not checked when `model_categories` decide the labels.
    model_categories: a trained model's categories (labels follow them, by id; see above).
    check_sizes: read every image header (no decoding) and skip, counted, an image whose
    size disagrees with the annotation.
    max_image_pixels: an image with more pixels is skipped, counted (image_io.py; None: no cap).
    collect_fatal: record fatal problems in `skipped` instead of raising (the checker).
    """

    def __init__(self, ann_file, img_dir, train: bool, transforms=None,
                 keep_difficult: bool | None = None, remove_empty: bool | None = None,
                 verify_images: bool = False, strict: bool = False,
                 num_classes: int | None = None, categories=None, category_level: str = "sku",
                 model_categories: list[dict] | None = None, ignore_unknown_categories: bool = False,
                 check_sizes: bool = True, collect_fatal: bool = False,
                 max_image_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS):
        ann_file, img_dir = Path(ann_file), Path(img_dir)
        log = ProblemLog(strict)
        data = load_coco_json(ann_file, log)
        if categories is not None or category_level != "sku":  # category_select.py
            data = select_categories(data, categories, category_level, ann_file)
        if not img_dir.is_dir():
            raise DatasetError(img_dir, "image folder not found")
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
            self.coco = COCO()
            self.coco.dataset = data
            self.coco.createIndex()
        if model_categories is None:
            model_categories = from_coco(data["categories"])
            if num_classes is not None and len(model_categories) != num_classes:
                raise DatasetError(ann_file, f"has {len(model_categories)} categories, expected {num_classes}")
        try:
            # merged supercategories are numbered 1..S by what the file holds: match them by name
            match = model_categories if category_level == "sku" else [dict(c, id=None) for c in model_categories]
            self.cat_id_to_label, unknown, disagree = coco_label_map(match, data["categories"])
        except ValueError as e:
            raise DatasetError(ann_file, str(e)) from None
        for sentence in disagree:
            log.add(ann_file, sentence, FATAL, "category name differs from the model's")
        self.label_to_cat_id = {k: c["id"] for k, c in enumerate(model_categories, start=1)}
        self._log_unknown(data["annotations"], unknown, len(model_categories), ann_file, log,
                          ignore_unknown_categories)

        records = [r for img in data["images"]
                   if (r := self._record(img, ann_file, img_dir, log, check_sizes, max_image_pixels)) is not None]
        # crowd regions are never training targets, whatever keep_difficult says
        if train:
            records = [r.select(~r.difficult) for r in records]
        records = finalize_records(
            records, keep_difficult=(not train) if keep_difficult is None else keep_difficult,
            remove_empty=train if remove_empty is None else remove_empty, log=log,
            verify_images=verify_images, max_image_pixels=max_image_pixels)
        if not collect_fatal:
            log.raise_if_fatal(ann_file)
        super().__init__(records, [c["name"] for c in model_categories], transforms, log, str(ann_file),
                         categories=model_categories, num_listed=len(data["images"]),
                         max_image_pixels=max_image_pixels)
        if ignore_unknown_categories:
            counts = Counter(a.get("category_id") for a in data["annotations"])
            self.ignored_categories = {describe(c): counts.get(c["id"], 0) for c in unknown}

    def _log_unknown(self, annotations, unknown, num_model, ann_file, log, ignore) -> None:
        """Annotations on an unknown image, or of a category this file or the model lacks."""
        listed = set(self.coco.cats)
        model_lacks = {c["id"]: c for c in unknown}
        per_category = defaultdict(list)  # category id -> annotation ids
        for a in annotations:
            if a.get("image_id") not in self.coco.imgs:
                log.add(ann_file, f"annotation {a['id']} refers to unknown image id "
                                  f"{a.get('image_id')!r}", DROPPED_OBJECT, "annotation of an unlisted image")
            cid = a.get("category_id")
            if cid not in listed:
                per_category[cid].append(a["id"])
            elif cid in model_lacks and ignore:
                log.add(ann_file, f"annotation {a['id']}: category {describe(model_lacks[cid])} is not "
                                  f"one of the model's {num_model} (ignored as asked)", DROPPED_OBJECT,
                        "unknown category (ignored)")
        for cid, ann_ids in per_category.items():
            log.add(ann_file, f"{len(ann_ids)} annotations have unknown category id {cid!r}, which "
                              f"'categories' does not list (first: annotation {ann_ids[0]})", FATAL,
                    "unknown category")
        if not ignore:
            counts = Counter(a.get("category_id") for a in annotations)
            # a category listed with no object (a full RPC table over a subset model) mislabels nothing
            for c in (c for c in unknown if counts.get(c["id"], 0) > 0):
                log.add(ann_file, f"category {describe(c)} ({counts[c['id']]} objects) is not one "
                                  f"of the model's {num_model} categories", FATAL, "unknown category")
        self.unknown_annotations = {a["id"] for a in annotations
                                    if a.get("category_id") not in self.cat_id_to_label}

    def _record(self, img: dict, ann_file: Path, img_dir: Path, log: ProblemLog, check_sizes: bool,
                max_pixels: int | None):
        file_name = str(img.get("file_name", ""))
        path = safe_join(img_dir, file_name)
        if path is None:
            log.add(ann_file, f"image {img['id']}: file_name {file_name!r} is empty or points "
                              f"outside the image folder {img_dir}", SKIPPED_IMAGE,
                    "file_name outside the image folder")
            return None
        if not path.is_file():
            reason, kind = missing_file_reason(path)
            log.add(path, reason, SKIPPED_IMAGE, kind)
            return None
        try:
            width, height = int(img["width"]), int(img["height"])
        except (KeyError, TypeError, ValueError):
            width = height = 0
        size = image_size_from_header(path, width, height, log, check_sizes, max_pixels)
        if size is None:
            return None
        height, width = size
        anns = [a for a in self.coco.imgToAnns.get(img["id"], []) if a["id"] not in self.unknown_annotations]
        boxes, labels, crowd, names = [], [], [], []
        for a in anns:
            try:
                x, y, w, h = (float(v) for v in a["bbox"])
            except (KeyError, TypeError, ValueError):
                log.add(path, f"annotation {a['id']}: missing or malformed bbox", DROPPED_OBJECT, "bad box")
                continue
            boxes.append([x, y, x + w, y + h])
            labels.append(self.cat_id_to_label[a["category_id"]])
            crowd.append(bool(a.get("iscrowd", 0)))
            names.append(f"{self.coco.cats[a['category_id']].get('name')} (ann {a['id']})")
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        keep = sanitize_boxes(boxes, width, height, path, log, names)
        return ImageRecord(path, int(img["id"]), height, width, boxes[keep],
                           np.asarray(labels, np.int64)[keep], np.asarray(crowd, bool)[keep])
