"""The validation set ``eval_det.py --sweep`` chooses checkout thresholds on: a split of the
run's config (data.val.split, --val-split) or one's own files (--val-ann-file, --val-img-dir,
as --ann-file / --img-dir give the split being reported).

Thresholds chosen on the images being reported would be tuned on test, and on training
images tuned on what the model fit: both are refused, by split name before anything loads
and by the images themselves once the sets are built (a file can hold any images).
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Optional

from ..errors import ConfigError, MissingFileError

FILE_KINDS = ("coco", "rpc")  # the loaders that read an annotation JSON and an image folder
_PLACEHOLDER_SPLIT = "val"  # a run that names no val split: only its files are read (RPC knows the name)


class ValSet(NamedTuple):
    split: str  # the split name the loader is given
    options: dict  # ann_file / img_dir from the command line
    name: str  # how reports and checkout_thresholds.json's chosen_on call it

    def describe(self) -> str:
        return f"file {self.name}" if self.options.get("ann_file") else f"split {self.name!r}"


def file_options(cfg: dict, which: str, ann_file: Optional[str], img_dir: Optional[str], prefix: str = "") -> dict:
    """{ann_file, img_dir} as given (``--<prefix>ann-file``, ``--<prefix>img-dir``), checked
    before the model loads: each must exist, and only COCO/RPC runs read such files."""
    from ..data.splits import split_config

    given = {k: v for k, v in (("ann_file", ann_file), ("img_dir", img_dir)) if v}
    flags = {k: f"--{prefix}{k.replace('_', '-')}" for k in given}
    if not given:
        return {}
    kind = (split_config(cfg["data"], which) or cfg["data"]).get("kind")
    if kind not in FILE_KINDS:
        raise ConfigError(f"{' and '.join(flags.values())} name a COCO/RPC annotation file and image folder, "
                          f"and this run's data is of kind {kind!r}",
                          hint="these flags are for runs trained with data.kind coco or rpc (--dataset rpc)")
    for key, value in given.items():
        _check_exists(flags[key], key, value)
    return given


def _check_exists(flag: str, key: str, value: str) -> None:
    exists = Path(value).is_file() if key == "ann_file" else Path(value).is_dir()
    if not exists:
        what = "annotation file (COCO/RPC JSON)" if key == "ann_file" else "image folder"
        raise MissingFileError(f"{flag} {value}: no such {what}")


def check_given_files(opts) -> None:
    """--ann-file, --img-dir, --val-ann-file, --val-img-dir exist: checked before the model
    loads (file_options needs the run's config for the rest), so a typo fails at once, and
    not behind a checkpoint that takes a while to load or cannot be read at all."""
    for prefix in ("", "val_"):
        for key in ("ann_file", "img_dir"):
            value = getattr(opts, prefix + key, None)
            if value:
                _check_exists(f"--{prefix.replace('_', '-')}{key.replace('_', '-')}", key, value)


def val_set(cfg: dict, opts, split: str) -> Optional[ValSet]:
    """The set --sweep chooses on (None without --sweep); errors before any loading."""
    from ..checkout.settings import default_val_split

    files = file_options(cfg, "val", opts.val_ann_file, opts.val_img_dir, prefix="val-")
    if not opts.sweep:
        if files:
            raise ConfigError("--val-ann-file / --val-img-dir give the set --sweep chooses thresholds on",
                              hint="add --sweep (with --checkout), or leave them out")
        return None
    named = opts.val_split or default_val_split(cfg)
    if files and not named and len(files) < 2:
        raise ConfigError("this run names no validation split, so --sweep needs both --val-ann-file and "
                          "--val-img-dir (the folder its file_names are relative to)",
                          hint="pass both, or set data.val.split in the config")
    if not named and not files:
        raise ConfigError("--sweep chooses the checkout threshold on a validation split, and this run has none",
                          hint="pass --val-ann-file FILE --val-img-dir DIR (your own validation images), set "
                               "data.val.split or pass --val-split NAME (--oracle-sweep chooses on the test split, "
                               "labelled as an oracle)")
    if named == split and "ann_file" not in files:
        raise ConfigError(f"the validation split {named!r} is the split being reported; choosing on it "
                          "would be tuning on test", hint="pass another --val-split or --val-ann-file, or use --oracle-sweep")
    return ValSet(named or _PLACEHOLDER_SPLIT, files, str(files.get("ann_file") or named))


def check_val_images(cfg: dict, val_dataset, test_dataset, say) -> None:
    """Refuse a validation set that shares images with the set being reported (always) or
    with the training split (unless data.allow_train_test_overlap)."""
    from ..data import DatasetError
    from ..data.splits import build_split, check_disjoint, shared_images
    from ..errors import UserError

    shared = shared_images(test_dataset, val_dataset)
    if shared:
        raise ConfigError(f"the validation set shares {len(shared)} of its {len(val_dataset)} images with the set "
                          f"being reported (e.g. {shared[0]}): choosing thresholds on it would be tuning on test",
                          hint="choose on other images (--val-ann-file / --val-split), or use --oracle-sweep")
    try:
        train = build_split(cfg, "train", train=False)
    except (DatasetError, UserError):  # the training data is not on this machine: nothing to compare
        say("[eval] the training split is not readable here, so val was not checked against it")
        return
    check_disjoint(train, val_dataset, bool(cfg["data"].get("allow_train_test_overlap", False)), which="val")
