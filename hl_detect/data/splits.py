"""A run config's data section -> the train / test / val datasets.

    data:
      kind, root, options, resize, ...   shared by every split
      train: {split: voc0712, root: null, options: {}}    what differs for one split
      test:  {split: voc07_test, ...}
      val:   {split: null, ...}                           (no val split unless set)

A split's settings are the shared ones with its own section laid over them (dicts key by
key, a null leaves the shared value), so `data.test.options.ann_file` gives the test split
its own JSON while both keep `data.options.num_classes`. `data.train_split` /
`data.test_split`, the keys of configs written before these sections (old checkpoints), are
still read and win over the section's split.

The test split is built with the training split's categories (matched by id, or by name
for VOC), so a test file with fewer or other categories never shifts a label. A run refuses
a split with no usable images and a test split that shares images with the training split
(unless data.allow_train_test_overlap). `data.copy_paste: true` turns the training split's
images (exemplars) into trays composed on the fly (copy_paste.py).
"""
from __future__ import annotations

import os
from collections import Counter

from ..errors import ConfigError
from .checks import CLIPPED_BOX, DROPPED_OBJECT, SKIPPED_IMAGE, DatasetError
from .copy_paste import copy_paste_trays
from .exemplar_gap import exemplar_gap
from .factory import build_dataset
from .transforms import build_eval_transforms, build_train_transforms

SECTIONS = ("train", "test", "val")
_LEGACY = {"train": "train_split", "test": "test_split", "val": "val_split"}


def split_config(data: dict, which: str) -> dict | None:
    """The resolved settings of one split (kind, root, split, options, resize, ...), or None
    when the config names no split for it."""
    if which not in SECTIONS:
        raise ConfigError(f"unknown split section {which!r} (one of {', '.join(SECTIONS)})")
    section = data.get(which) or {}
    if not isinstance(section, dict):
        raise ConfigError(f"data.{which} must be a mapping (split, root, options, ...), not {section!r}")
    merged = {k: v for k, v in data.items() if k not in SECTIONS and k not in _LEGACY.values()}
    for key, value in section.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    split = data.get(_LEGACY[which]) or section.get("split")
    if split is None:
        return None
    merged["split"] = split
    merged["options"] = dict(merged.get("options") or {})
    return merged


def build_split(cfg: dict, which: str, *, train: bool, split: str | None = None,
                categories: list[dict] | None = None, **options):
    """One split's dataset; `split` replaces the config's split name, `options` go to the
    loader over the config's (e.g. ignore_unknown_categories=True)."""
    data = cfg["data"]
    if split is not None:  # the caller's split name replaces the config's
        data = {k: v for k, v in data.items() if k != _LEGACY[which]}
        data[which] = {**(data.get(which) or {}), "split": split}
    sc = split_config(data, which)
    if sc is None:
        raise ConfigError(f"the config names no {which} split", hint=f"set data.{which}.split")
    resize = sc.get("resize") or {}
    if train:
        transforms = build_train_transforms(**resize, seed=cfg.get("seed"), **(sc.get("train_transform_options") or {}))
    else:
        transforms = build_eval_transforms(**resize)
    kw = {**sc["options"], **options}
    if "max_image_pixels" in sc:  # configs older than the key keep the loaders' default cap
        kw.setdefault("max_image_pixels", _pixel_cap(sc["max_image_pixels"]))
    if categories is not None:
        kw["model_categories"] = categories
    ds = build_dataset(sc["kind"], sc.get("root"), sc["split"], train, transforms, **kw)
    if train and sc.get("copy_paste"):  # exemplars -> trays composed on the fly (copy_paste.py)
        ds = copy_paste_trays(ds, sc.get("copy_paste_options"))
    return ds


def _pixel_cap(value):
    """data.max_image_pixels: a pixel count, or null / 0 for no cap."""
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0):
        return value
    raise ConfigError(f"data.max_image_pixels must be a number of pixels (e.g. 40000000) or null, not {value!r}")


def require_images(ds, which: str) -> None:
    """A split with nothing to train or score on is an error, not a num_samples=0 traceback."""
    if len(ds) == 0:
        raise DatasetError(getattr(ds, "source", ""), f"the {which} split has no usable images "
                           f"({ds.num_listed} listed; {ds.skipped.summary()}); python tools/check_dataset.py "
                           f"lists why")


def shared_images(a, b) -> list:
    """Records of `b` whose file (links resolved) is also one of `a`'s."""
    files = {os.path.realpath(r.path) for r in a.records}
    return [r.path for r in b.records if os.path.realpath(r.path) in files]


def check_disjoint(train_set, test_set, allow: bool, which: str = "test") -> int:
    """Refuse to test on training images unless allowed; returns how many are shared."""
    shared = shared_images(train_set, test_set)
    if shared and not allow:
        raise ConfigError(
            f"the {which} split shares {len(shared)} of its {len(test_set)} images with the training split "
            f"(e.g. {shared[0]}): the run would score images it trained on",
            hint=f"point data.{which} at other images (data.{which}.split, data.{which}.options.ann_file / img_dir), "
                 f"or set data.allow_train_test_overlap=true if that is what you want")
    return len(shared)


def build_datasets(cfg: dict):
    """(train, test) of a run: test labels follow the training categories; checked as above."""
    train = build_split(cfg, "train", train=True)
    require_images(train, "train")
    test = build_split(cfg, "test", train=False, categories=train.categories)
    require_images(test, "test")
    check_disjoint(train, test, bool(cfg["data"].get("allow_train_test_overlap", False)))
    train.exemplar_gap = exemplar_gap(train, test)  # describe_split logs it with the training split
    return train, test


def build_eval_dataset(cfg: dict, split: str | None = None, categories: list[dict] | None = None,
                       which: str = "test", **options):
    """An evaluation dataset of a config: the `which` section's settings (default: the test
    split's), `split` naming another split, labelled by `categories` (a trained model's)."""
    ds = build_split(cfg, which, train=False, split=split, categories=categories, **options)
    require_images(ds, split or which)
    return ds


_WORDS = {SKIPPED_IMAGE: ("image skipped", "images skipped"), DROPPED_OBJECT: ("object dropped", "objects dropped"),
          CLIPPED_BOX: ("box clipped to its image", "boxes clipped to their images")}


def describe_split(which: str, ds) -> str | None:
    """One log line: the images used (of those listed, when fewer) and what the loader did at
    load time, by kind with counts ("2 boxes clipped to their images", not "skipped": a
    clipped box is kept); None when it used every listed image and did nothing. A training
    split that build_datasets found to be exemplars under a test split of trays adds the
    exemplar-gap line (exemplar_gap.py)."""
    problems = getattr(ds, "skipped", None) or []
    listed = getattr(ds, "num_listed", len(ds))
    gap = getattr(ds, "exemplar_gap", None)
    if not problems and listed <= len(ds):
        return gap
    line = f"[data] {which}: " + (f"{len(ds)} of {listed} images" if listed > len(ds) else f"{len(ds)} images")
    if problems:
        groups = Counter((p.action, p.kind) for p in problems)
        parts = [f"{n} {_WORDS.get(action, (action, action))[n != 1]}" + (f" ({kind})" if kind and kind != action else "")
                 for (action, kind), n in sorted(groups.items())]
        line += f"; at load time: {', '.join(parts)} (tools/check_dataset.py lists them)"
    return line if gap is None else f"{line}\n{gap}"
