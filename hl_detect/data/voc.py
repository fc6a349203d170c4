"""Pascal VOC loader (VOCdevkit/VOC2007, VOCdevkit/VOC2012 layout, or any single VOC-style
folder with JPEGImages/, Annotations/, ImageSets/Main/<set>.txt).

Named splits: voc07_trainval (5011 images), voc12_trainval (11540), voc0712 (both, 16551),
voc07_test (4952 images, 14976 objects of which 12032 not difficult). Any other split name
is read as ImageSets/Main/<split>.txt directly under `root`.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from .base import DetectionDataset, ImageRecord, finalize_records, image_size_from_header
from .image_io import DEFAULT_MAX_IMAGE_PIXELS
from .categories import make_categories, name_to_label
from .checks import (DROPPED_OBJECT, FATAL, SKIPPED_IMAGE, DatasetError, ProblemLog,
                     missing_file_reason, safe_join, sanitize_boxes)

# The devkit's order; label k is VOC_CLASSES[k - 1].
VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)

# split name -> [(folder under VOCdevkit, image set)]
VOC_SPLITS = {
    "voc07_trainval": [("VOC2007", "trainval")],
    "voc12_trainval": [("VOC2012", "trainval")],
    "voc0712": [("VOC2007", "trainval"), ("VOC2012", "trainval")],
    "voc07_test": [("VOC2007", "test")],
}


def voc_box_to_xyxy(xmin: float, ymin: float, xmax: float, ymax: float) -> list[float]:
    """VOC 1-based inclusive pixel indices -> 0-based continuous xyxy.

    Convention (as Detectron2's pascal_voc loader): pixel indices 1..W become the interval
    [0, W], so subtract 1 from xmin/ymin and keep xmax/ymax. The only place VOC boxes convert.
    """
    return [xmin - 1.0, ymin - 1.0, xmax, ymax]


def xyxy_to_voc_box(x0: float, y0: float, x1: float, y1: float) -> list[float]:
    """Inverse of voc_box_to_xyxy, for writing VOC XML."""
    return [x0 + 1.0, y0 + 1.0, x1, y1]


def voc_image_id(folder: str, name: str, fallback: int) -> int:
    """Stable int id from the file id: '2008_000123' -> 2008000123; '000005' in VOC2007 ->
    2007000005; other digit names -> int(name); anything else -> fallback."""
    m = re.fullmatch(r"(\d{4})_(\d{6})", name)
    if m:
        return int(m.group(1)) * 1_000_000 + int(m.group(2))
    if name.isdigit():
        y = re.fullmatch(r"VOC(\d{4})", folder)
        return (int(y.group(1)) * 1_000_000 if y else 0) + int(name)
    return fallback


def parse_voc_xml(xml_path: Path, class_to_label: dict[str, int], log: ProblemLog):
    """-> (width, height, boxes, labels, difficult, names, filename, unknown) or None when the
    file is unusable (logged). `unknown` lists the names of objects whose class is not in
    class_to_label; they are left out here and reported by the caller (a wrong class list
    must never train, nor be scored as another class)."""
    try:
        root = ET.parse(xml_path).getroot()
    except FileNotFoundError:
        log.add(xml_path, "annotation file not found", SKIPPED_IMAGE, "annotation file not found")
        return None
    except ET.ParseError as e:
        log.add(xml_path, f"malformed XML ({e})", SKIPPED_IMAGE, "malformed annotation")
        return None

    def num(node, tag):
        return float(node.findtext(tag).strip())

    try:
        size = root.find("size")
        width, height = int(num(size, "width")), int(num(size, "height"))
    except (AttributeError, ValueError, TypeError):
        width = height = 0  # the caller reads the image header instead
    boxes, labels, difficult, names, unknown = [], [], [], [], []
    for k, obj in enumerate(root.findall("object")):
        name = (obj.findtext("name") or "").strip()
        if name not in class_to_label:
            unknown.append(name)
            continue
        try:
            bb = obj.find("bndbox")
            box = voc_box_to_xyxy(num(bb, "xmin"), num(bb, "ymin"), num(bb, "xmax"), num(bb, "ymax"))
        except (AttributeError, ValueError, TypeError):
            log.add(xml_path, f"object {k} '{name}': missing or non-numeric bndbox", DROPPED_OBJECT, "bad box")
            continue
        boxes.append(box)
        labels.append(class_to_label[name])
        difficult.append((obj.findtext("difficult") or "0").strip() == "1")
        names.append(name)
    return (width, height, np.asarray(boxes, np.float32).reshape(-1, 4),
            np.asarray(labels, np.int64), np.asarray(difficult, bool), names,
            (root.findtext("filename") or "").strip(), unknown)


def load_voc_records(voc_dir: Path, image_set: str, class_to_label: dict[str, int], log: ProblemLog,
                     unknown: dict, check_sizes: bool = True,
                     max_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS) -> tuple[list[ImageRecord], int]:
    """-> (records, images the split file lists); `unknown` gathers name -> [xml files]."""
    split_file = voc_dir / "ImageSets" / "Main" / f"{image_set}.txt"
    if not split_file.is_file():
        raise DatasetError(split_file, "split file not found (is the VOC tree complete? run "
                                       "datasets/check_voc_rpc_tree.py)")
    names = [ln.split()[0] for ln in split_file.read_text().splitlines() if ln.strip()]
    records, seen = [], set()
    for pos, name in enumerate(names):
        if name in seen:
            log.add(split_file, f"duplicate image id {name!r} (kept the first)", SKIPPED_IMAGE,
                    "duplicate listing")
            continue
        seen.add(name)
        # a listed id is a path too: '../../x' or '/x' would read files outside the VOC folder
        xml_path = safe_join(voc_dir / "Annotations", f"{name}.xml")
        image_path = safe_join(voc_dir / "JPEGImages", f"{name}.jpg")
        if xml_path is None or image_path is None:
            # keyed by the path as listed, so each escape counts as one bad image of its own
            log.add(f"{voc_dir / 'JPEGImages'}/{name}.jpg", f"image id {name!r} of {split_file} points "
                    f"outside {voc_dir} ('..' or an absolute path); not opened", SKIPPED_IMAGE,
                    "image id outside the VOC folder")
            continue
        parsed = parse_voc_xml(xml_path, class_to_label, log)
        if parsed is None:
            continue
        width, height, boxes, labels, difficult, obj_names, filename, lacking = parsed
        for n in lacking:
            unknown.setdefault(n, []).append(xml_path)
        if not image_path.is_file() and filename:
            image_path = safe_join(voc_dir / "JPEGImages", filename) or image_path
        if not image_path.is_file():
            reason, kind = missing_file_reason(image_path)
            log.add(image_path, reason, SKIPPED_IMAGE, kind)
            continue
        size = image_size_from_header(image_path, width, height, log, check_sizes, max_pixels)
        if size is None:
            continue
        height, width = size
        keep = sanitize_boxes(boxes, width, height, xml_path, log, obj_names)
        records.append(ImageRecord(image_path, voc_image_id(voc_dir.name, name, pos + 1),
                                   height, width, boxes[keep], labels[keep], difficult[keep]))
    return records, len(seen)


def log_unknown_names(unknown: dict, num_known: int, log: ProblemLog, ignore: bool) -> None:
    """Objects whose class name is not in the class list: fatal, or dropped and counted."""
    for name, files in sorted(unknown.items()):
        if ignore:
            for f in files:
                log.add(f, f"class name {name!r} is not one of the {num_known} known classes "
                           f"(ignored as asked)", DROPPED_OBJECT, "unknown category (ignored)")
        else:
            log.add(files[0], f"unknown class name {name!r} in {len(files)} object(s) of "
                              f"{len(set(files))} file(s) (first this one); not one of the "
                              f"{num_known} known classes", FATAL, "unknown category")


class VOCDetection(DetectionDataset):
    """Pascal VOC detection dataset.

    root: the VOCdevkit folder for the named splits, else a VOC-style folder.
    train: sets the defaults keep_difficult=False and remove_empty=True (eval: True, False).
    classes: the names labels 1..C stand for; `model_categories` (a trained model's,
    hl_detect/data/categories.py) replace them, matched by name. An object of another class is fatal unless
    `ignore_unknown_categories` (then dropped and counted). check_sizes / collect_fatal /
    max_image_pixels: as COCODetection.
    """

    def __init__(self, root, split: str, train: bool, transforms=None, classes=VOC_CLASSES,
                 keep_difficult: bool | None = None, remove_empty: bool | None = None,
                 verify_images: bool = False, strict: bool = False,
                 model_categories: list[dict] | None = None, ignore_unknown_categories: bool = False,
                 check_sizes: bool = True, collect_fatal: bool = False,
                 max_image_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS):
        root = Path(root)
        if not root.is_dir():
            raise DatasetError(root, "VOC root folder not found")
        categories = list(model_categories) if model_categories is not None else make_categories(classes)
        try:
            class_to_label = name_to_label(categories, "the class list")
        except ValueError as e:
            raise DatasetError(root, str(e)) from None
        parts = VOC_SPLITS.get(split) or [(None, split)]
        log = ProblemLog(strict)
        records, listed, unknown = [], 0, {}
        for folder, image_set in parts:
            got, n = load_voc_records(root / folder if folder else root, image_set, class_to_label,
                                      log, unknown, check_sizes, max_image_pixels)
            records, listed = records + got, listed + n
        log_unknown_names(unknown, len(categories), log, ignore_unknown_categories)
        records = finalize_records(
            records, keep_difficult=(not train) if keep_difficult is None else keep_difficult,
            remove_empty=train if remove_empty is None else remove_empty, log=log,
            verify_images=verify_images, max_image_pixels=max_image_pixels)
        if not collect_fatal:
            log.raise_if_fatal(f"{root}:{split}")
        super().__init__(records, [c["name"] for c in categories], transforms, log, f"{root}:{split}",
                         categories=categories, num_listed=listed, max_image_pixels=max_image_pixels)
        if ignore_unknown_categories:
            self.ignored_categories = {repr(n): len(files) for n, files in sorted(unknown.items())}
