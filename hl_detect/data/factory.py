"""build_dataset: one entry point for the four kinds of dataset.

    kind        root                         split
    "voc"       VOCdevkit/ (or a VOC folder)  voc07_trainval | voc12_trainval | voc0712 |
                                              voc07_test | an ImageSets/Main/<name>.txt
    "coco"      dataset root                  name -> annotations/instances_<name>.json and
                                              images in <root>/<name>/; ann_file=/img_dir= override
    "rpc"       retail_product_checkout/      train | val | test (instances_<split>2019.json,
                                              <split>2019/); ann_file= for the 113-class JSON
    "synthetic" None (data/synthetic_<C>)     train | test | val; layout="voc" | "coco"
    "synthetic_exemplars"  None (data/exemplars_<C>)  train (single-product exemplars) | val |
                                              test | train_trays, in RPC's layout
"""
from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError, dataset_hint, did_you_mean
from .checks import DatasetError
from .coco import COCODetection, rpc_paths
from .synthetic import DEFAULT_NUM_VAL, SPLITS as SYNTHETIC_SPLITS, ensure_synthetic_dataset
from .synthetic_exemplars import SPLITS as EXEMPLAR_SPLITS, ensure_exemplar_dataset
from .voc import VOCDetection

KINDS = ("voc", "coco", "rpc", "synthetic", "synthetic_exemplars")
_SYNTHETIC_KW = ("num_classes", "num_train", "num_test", "seed", "image_size")
_EXEMPLAR_KW = ("num_classes", "views_per_class", "num_val", "num_test", "num_train_trays", "seed", "image_size")


def build_dataset(kind: str, root, split: str, train: bool, transforms=None, **kw):
    """Build a dataset; kw go to the loader (keep_difficult, remove_empty, verify_images,
    strict, check_sizes, collect_fatal; model_categories (a model's: labels follow it, COCO by
    id, VOC by name) and ignore_unknown_categories; COCO/RPC: ann_file, img_dir, num_classes,
    categories (a subset of ids), category_level; synthetic: layout and the generator's
    num_classes, num_train, num_test, num_val, seed, image_size). Run configs go through
    hl_detect/data/splits.py, which adds per-split settings."""
    try:
        return _build(kind, root, split, train, transforms, **kw)
    except DatasetError as error:
        # here the kind is known, so the next step can say where the data goes
        if "hint" not in vars(error):
            error.hint = dataset_hint(kind, root, missing="not found" in error.problem)
        raise


def _build(kind: str, root, split: str, train: bool, transforms=None, **kw):
    if kind == "voc":
        return VOCDetection(root, split, train, transforms, **kw)
    if kind in ("coco", "rpc"):
        if kind == "rpc":
            ann_file, img_dir = rpc_paths(root, split)
        else:
            ann_file = Path(root) / "annotations" / f"instances_{split}.json"
            img_dir = Path(root) / split
        ann_file, img_dir = kw.pop("ann_file", ann_file), kw.pop("img_dir", img_dir)
        return COCODetection(ann_file, img_dir, train, transforms, **kw)
    if kind == "synthetic":
        layout = kw.pop("layout", "voc")
        num_val = kw.pop("num_val", DEFAULT_NUM_VAL)
        if split not in SYNTHETIC_SPLITS:
            raise DatasetError(root or "data/synthetic_<C>",
                               f"synthetic split must be one of {SYNTHETIC_SPLITS}, not {split!r}")
        # val is generated only when asked for, so train/test-only runs never pay for it
        paths = ensure_synthetic_dataset(root, **{k: kw.pop(k) for k in _SYNTHETIC_KW if k in kw},
                                         num_val=num_val if split == "val" else 0)
        if layout == "voc":
            return VOCDetection(paths.root, split, train, transforms, classes=paths.classes, **kw)
        if layout == "coco":
            return COCODetection(paths.ann_file(split), paths.root, train, transforms, **kw)
        raise ConfigError(f"layout must be 'voc' or 'coco', not {layout!r}")
    if kind == "synthetic_exemplars":
        if split not in EXEMPLAR_SPLITS:
            raise DatasetError(root or "data/exemplars_<C>",
                               f"exemplar-set split must be one of {EXEMPLAR_SPLITS}, not {split!r}")
        paths = ensure_exemplar_dataset(root, **{k: kw.pop(k) for k in _EXEMPLAR_KW if k in kw})
        return COCODetection(paths.ann_file(split), paths.img_dir(split), train, transforms, **kw)
    raise ConfigError(f"unknown dataset kind {kind!r} (data.kind); {did_you_mean(kind, KINDS, 'kinds')}")
