"""Records -> samples: the part every loader shares.

A loader parses its annotation format into ImageRecords (original-image coordinates) and a
ProblemLog; DetectionDataset turns a record into the sample contract:

    image   float32 [3, H, W] in [0, 1], RGB
    target  boxes float32 [N, 4] xyxy (0-based continuous, returned image), labels int64 [N]
            in 1..C, image_id int, difficult bool [N], orig_size int64 [2] = (H0, W0),
            size int64 [2] = (H, W), orig_boxes float32 [N, 4] (original image coordinates)

Label k names classes[k - 1] (categories[k - 1] with its id, hl_detect/data/categories.py);
0 is background and never a label. `num_listed` is how many images the annotation lists, so a
report can say "N of M images" when some were skipped.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .categories import make_categories
from .checks import SKIPPED_IMAGE, DatasetError, ProblemLog
from .image_io import DEFAULT_MAX_IMAGE_PIXELS, check_pixels, read_image, read_image_size


@dataclass
class ImageRecord:
    path: Path
    image_id: int
    height: int  # of the original file (annotated or read from the header)
    width: int
    boxes: np.ndarray  # float32 [N, 4], 0-based xyxy, already clipped to the image
    labels: np.ndarray  # int64 [N], 1..C
    difficult: np.ndarray  # bool [N]: VOC difficult, or COCO iscrowd

    def select(self, keep: np.ndarray) -> "ImageRecord":
        return ImageRecord(self.path, self.image_id, self.height, self.width,
                           self.boxes[keep], self.labels[keep], self.difficult[keep])


def finalize_records(records: list[ImageRecord], *, keep_difficult: bool, remove_empty: bool,
                     log: ProblemLog, verify_images: bool = False,
                     max_image_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS) -> list[ImageRecord]:
    """Apply the train/eval object policy and drop images it leaves empty.

    Dropping difficult objects is a policy, not a problem, so it is not logged; an image left
    with no objects by it (or annotated with none) is logged when remove_empty is set.
    """
    out = []
    for r in records:
        if not keep_difficult:
            r = r.select(~r.difficult)
        if remove_empty and len(r.labels) == 0:
            log.add(r.path, "no objects to train on (none annotated, or all difficult/crowd/"
                            "dropped)", SKIPPED_IMAGE, "no objects")
            continue
        if verify_images:
            try:
                check_decodes(r, max_image_pixels)
            except DatasetError as e:
                log.add(r.path, e.problem, SKIPPED_IMAGE, "unreadable image")
                continue
        out.append(r)
    return out


def image_size_from_header(path, width: int, height: int, log: ProblemLog,
                           check: bool = True,
                           max_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS) -> tuple[int, int] | None:
    """(H, W) of an image from its header only (PIL opens lazily, no pixels are decoded).

    width/height: what the annotation says (<= 0: not given, the header decides). With
    `check`, a header that disagrees with the annotation skips the image (counted): its boxes
    were drawn on another picture. An image of more than `max_pixels` is skipped (counted)
    too: decoding it could exhaust a worker's memory. None when the image is skipped (logged).
    """
    if not check and width > 0 and height > 0:
        return _within_cap(path, height, width, log, max_pixels)
    try:
        h, w = read_image_size(path)
    except DatasetError as e:
        log.add(path, e.problem, SKIPPED_IMAGE, "unreadable image")
        return None
    if width > 0 and height > 0 and (h, w) != (height, width):
        log.add(path, f"annotation says {width}x{height} (WxH) but the image is {w}x{h}",
                SKIPPED_IMAGE, "size mismatch")
        return None
    return _within_cap(path, h, w, log, max_pixels)


def _within_cap(path, h: int, w: int, log: ProblemLog, max_pixels: int | None) -> tuple[int, int] | None:
    try:
        check_pixels(path, w, h, max_pixels)
    except DatasetError as e:
        log.add(path, e.problem, SKIPPED_IMAGE, "image over the pixel cap")
        return None
    return h, w


def check_decodes(record: ImageRecord, max_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS) -> np.ndarray:
    """Decode the image (at most `max_pixels`) and check it has the annotated size; returns the pixels."""
    image = read_image(record.path, max_pixels)
    if image.shape[:2] != (record.height, record.width):
        raise DatasetError(record.path, f"annotation says {record.width}x{record.height} (WxH) "
                                        f"but the image is {image.shape[1]}x{image.shape[0]}")
    return image


class DetectionDataset(torch.utils.data.Dataset):
    """Map-style dataset over ImageRecords; `transforms` is a callable as built by
    hl_detect.data.transforms (None: no resize, no augmentation)."""

    def __init__(self, records: list[ImageRecord], classes: list[str], transforms=None,
                 skipped: ProblemLog | None = None, source: str = "",
                 categories: list[dict] | None = None, num_listed: int | None = None,
                 max_image_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS):
        self.records = records
        self.max_image_pixels = max_image_pixels  # checked again at decode: a file may change after loading
        self.classes = list(classes)
        self.categories = list(categories) if categories is not None else make_categories(self.classes)
        if [c["name"] for c in self.categories] != self.classes:
            raise ValueError("categories must name the classes in label order")
        self.num_listed = len(records) if num_listed is None else int(num_listed)
        self.ignored_categories: dict[str, int] = {}  # "id 7 'x'" -> objects left out as asked
        self.transforms = transforms
        self.skipped = skipped if skipped is not None else ProblemLog()
        self.source = source
        ids = [r.image_id for r in records]
        if len(set(ids)) != len(ids):
            raise DatasetError(source, "duplicate image ids after loading")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self.records)

    def get_height_and_width(self, i: int) -> tuple[int, int]:
        """Original (H, W) without decoding, for aspect-ratio grouping."""
        r = self.records[i]
        return r.height, r.width

    def aspect_ratios(self) -> list[float]:
        return [r.width / r.height for r in self.records]

    def __getitem__(self, i: int):
        r = self.records[i]
        image = check_decodes(r, self.max_image_pixels)
        return self.sample(image, r.boxes, r.labels, r.difficult, r.image_id)

    def sample(self, image, boxes, labels, difficult, image_id):
        """(image, target) of the contract above from an original image and its objects
        (copy_paste.py composes the image and objects and hands them here)."""
        orig_boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        orig_h, orig_w = image.shape[:2]
        index = np.arange(len(labels))
        if self.transforms is not None:
            out = self.transforms(image=image, boxes=boxes, labels=labels, difficult=difficult)
            image, boxes, labels = out["image"], out["boxes"], out["labels"]
            difficult, index = out["difficult"], out["index"]
        h, w = image.shape[:2]
        target = {
            "boxes": torch.as_tensor(np.asarray(boxes, np.float32).reshape(-1, 4)),
            "labels": torch.as_tensor(np.asarray(labels, np.int64).reshape(-1)),
            "image_id": int(image_id),
            "difficult": torch.as_tensor(np.asarray(difficult, bool).reshape(-1)),
            "orig_size": torch.tensor([orig_h, orig_w], dtype=torch.int64),
            "size": torch.tensor([h, w], dtype=torch.int64),
            # `index` says which original objects survived the transform, so these stay aligned
            "orig_boxes": torch.as_tensor(orig_boxes[np.asarray(index, np.int64)].reshape(-1, 4)),
        }
        img = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)
        return img, target

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.source!r}, images={len(self)}, "
                f"classes={self.num_classes}, problems: {self.skipped.summary()})")
