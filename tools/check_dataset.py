"""Validate a dataset and print a report; exit 1 when fatal problems exist, 2 when it cannot
be loaded at all.

  python tools/check_dataset.py --kind voc --root datasets/VOCdevkit --split voc07_test
  python tools/check_dataset.py --kind rpc --root datasets/retail_product_checkout --split test
  python tools/check_dataset.py --kind coco --ann-file a.json --img-dir images/
  python tools/check_dataset.py --kind synthetic --split train       # generates on first use
"""
from __future__ import annotations

import argparse
import sys

from hl_detect.cli import add_debug_argument, help_layout
from hl_detect.data import DatasetError, build_dataset, check_dataset, format_report
from hl_detect.errors import debug_requested, main_guard, next_step


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(**help_layout(__doc__), add_help=add_help)
    p.add_argument("--kind", default="synthetic", choices=["voc", "coco", "rpc", "synthetic"])
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
    p.add_argument("--layout", default="voc", choices=["voc", "coco"], help="synthetic layout")
    for name in ("num-train", "num-test", "image-size", "seed"):
        p.add_argument(f"--{name}", type=int, default=None, help="synthetic generator parameter")
    p.add_argument("--no-decode", dest="decode", action="store_false",
                   help="skip opening every image")
    p.add_argument("--strict", action="store_true", help="also fail on skipped images/objects")
    p.add_argument("--workers", type=int, default=4, help="decoding threads")
    p.add_argument("--max-problems", type=int, default=50, help="problems listed per section")
    add_debug_argument(p)
    return p


def main(args) -> int:
    kw = {}
    if args.kind in ("coco", "rpc"):
        kw.update({k: v for k, v in (("ann_file", args.ann_file), ("img_dir", args.img_dir),
                                     ("num_classes", args.num_classes), ("categories", args.categories),
                                     ("category_level", args.category_level)) if v is not None})
    if args.kind == "synthetic":
        kw["layout"] = args.layout
        for k in ("num_classes", "num_train", "num_test", "image_size", "seed"):
            if getattr(args, k) is not None:
                kw[k] = getattr(args, k)
    root = args.root if args.root is not None or args.kind == "synthetic" else "."
    try:
        ds = build_dataset(args.kind, root, args.split, train=False, **kw)
    except DatasetError as e:
        if debug_requested(args):
            raise
        print(f"FATAL: {e}")
        print(f"next step: {next_step(e)}")
        return 2
    rep = check_dataset(ds, decode=args.decode, workers=args.workers)
    print(format_report(rep, args.max_problems))
    if not rep.ok:
        return 1
    return 1 if args.strict and rep.problems else 0


if __name__ == "__main__":
    sys.exit(main_guard(main, get_args_parser().parse_args()))
