"""Validate a dataset and print every problem at once, grouped by kind with counts.

Exit 0: OK; 1: something fatal (an unknown category, duplicate ids, no usable image, more
unusable images than --max-bad-images allows, or with --strict anything skipped); 2: the
dataset cannot be loaded at all (no annotation file, malformed JSON).

  python tools/check_dataset.py --kind voc --root datasets/VOCdevkit --split voc07_test
  python tools/check_dataset.py --kind rpc --root datasets/retail_product_checkout --split test
  python tools/check_dataset.py --kind coco --ann-file a.json --img-dir images/
  python tools/check_dataset.py --kind coco --ann-file test.json --img-dir images/ --categories-of runs/RUN
  python tools/check_dataset.py --kind synthetic --split train       # generates on first use
  python tools/check_dataset.py --kind synthetic_exemplars --split train   # exemplars: says so, and what to do
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..cli import add_debug_argument, help_layout
from ...data import DatasetError, build_dataset, check_dataset, format_report
from ...errors import debug_requested, main_guard, next_step


def _count_or_fraction(text: str):
    value = float(text)
    return value if value < 1 else int(value)


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(**help_layout(__doc__), add_help=add_help)
    p.add_argument("--kind", default="synthetic", choices=["voc", "coco", "rpc", "synthetic", "synthetic_exemplars"])
    p.add_argument("--root", default=None, help="dataset root (synthetic: default data/synthetic_<C>)")
    p.add_argument("--split", default="train")
    p.add_argument("--ann-file", default=None, help="COCO/RPC: annotation JSON")
    p.add_argument("--img-dir", default=None, help="COCO/RPC: folder the file_names are relative to")
    p.add_argument("--num-classes", type=int, default=None,
                   help="expected number of classes (COCO/RPC), or synthetic classes")
    p.add_argument("--categories", type=lambda s: [int(x) for x in s.split(",")], default=None,
                   help="COCO/RPC: category ids to keep, comma-separated (data.options.categories)")
    p.add_argument("--category-level", default=None, choices=["sku", "super"],
                   help="COCO/RPC: sku, or one class per supercategory (data.options.category_level)")
    p.add_argument("--categories-of", metavar="RUN", default=None,
                   help="check the categories against a trained model's (run folder or checkpoint.pt)")
    p.add_argument("--ignore-unknown-categories", action="store_true",
                   help="objects of unknown categories are dropped and counted, not fatal")
    p.add_argument("--max-bad-images", type=_count_or_fraction, default=None,
                   help="unusable images allowed: a count, or a fraction below 1 (default 0.01, as a run)")
    p.add_argument("--layout", default="voc", choices=["voc", "coco"], help="synthetic layout")
    for name in ("num-train", "num-test", "image-size", "seed"):
        p.add_argument(f"--{name}", type=int, default=None, help="synthetic generator parameter")
    p.add_argument("--no-decode", dest="decode", action="store_false",
                   help="read image headers only, do not decode every image")
    p.add_argument("--strict", action="store_true", help="also fail on skipped images/objects")
    p.add_argument("--workers", type=int, default=4, help="decoding threads")
    p.add_argument("--max-problems", type=int, default=50, help="examples listed per kind of problem")
    add_debug_argument(p)
    return p


def stored_categories(run: str) -> list[dict]:
    """The categories a checkpoint stores (names only for checkpoints older than that: checkpoint_upgrade.py)."""
    from ...data.categories import checkpoint_categories
    from ...engine.checkpoint import load_checkpoint
    from ...engine.checkpoint_upgrade import upgrade_checkpoint

    path = Path(run) / "checkpoint.pt" if Path(run).is_dir() else Path(run)
    return checkpoint_categories(upgrade_checkpoint(load_checkpoint(path)))


def main(args) -> int:
    kw = {"collect_fatal": True, "ignore_unknown_categories": args.ignore_unknown_categories}
    if args.kind in ("coco", "rpc"):
        kw.update({k: v for k, v in (("ann_file", args.ann_file), ("img_dir", args.img_dir),
                                     ("num_classes", args.num_classes), ("categories", args.categories),
                                     ("category_level", args.category_level)) if v is not None})
    if args.kind == "synthetic_exemplars":  # the exemplar set (synthetic_exemplars.py), RPC's layout
        kw.update({k: getattr(args, k) for k in ("num_classes", "image_size", "seed") if getattr(args, k) is not None})
    if args.kind == "synthetic":
        kw["layout"] = args.layout
        for k in ("num_classes", "num_train", "num_test", "image_size", "seed"):
            if getattr(args, k) is not None:
                kw[k] = getattr(args, k)
    if args.categories_of:
        kw["model_categories"] = stored_categories(args.categories_of)
    root = args.root if args.root is not None or args.kind.startswith("synthetic") else "."
    try:
        ds = build_dataset(args.kind, root, args.split, train=False, **kw)
    except DatasetError as e:
        if debug_requested(args):
            raise
        print(f"FATAL: {e}")
        print(f"next step: {next_step(e)}")
        return 2
    rep = check_dataset(ds, decode=args.decode, workers=args.workers, max_bad_images=args.max_bad_images,
                        strict=args.strict)
    print(format_report(rep, args.max_problems))
    return 0 if rep.ok else 1


def cli(argv=None) -> None:
    """The console script: exit status 0 (OK), 1 (problems found) or 2 (cannot load)."""
    sys.exit(main_guard(main, get_args_parser().parse_args(argv)))
