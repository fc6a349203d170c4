"""Synthesize checkout trays from single-product exemplars (RPC's train2019), in RPC's layout.

Each product is cut out of its exemplar photo (its COCO segmentation when the annotation has
one, else a background model fitted to the photo's border, or --method grabcut) and pasted,
3-20 per tray, onto tray backgrounds (--backgrounds: your photos of empty trays; else
generated plain or textured ones) with a camera-distance scale, rotation, shadows and colour
/ blur jitter. A product hidden beyond --max-occluded of its pixels is left out of the labels.
Writes <output>/<split>2019/*.jpg and <output>/instances_<split>2019.json (RPC's fields, the
exemplar file's categories), the same for a seed; rerun the same command to finish an
interrupted run. Train on it with configs/rpc_exemplars.yaml (datasets/README.md).

  python tools/synthesize_checkout.py --root datasets/retail_product_checkout --output datasets/rpc_synth_trays --trays 20000
  python tools/synthesize_checkout.py --kind synthetic_exemplars --output data/exemplar_trays --trays 300 --tray-size 216 288
  python tools/synthesize_checkout.py --kind coco --ann-file products.json --img-dir photos/ --backgrounds trays/ --output out/
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..cli import add_debug_argument, help_layout
from ...data import build_dataset
from ...data.image_io import read_image_size
from ...data.tray_synthesis import TrayConfig
from ...data.tray_writer import synthesize_checkout
from ...errors import MissingFileError, main_guard

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(**help_layout(__doc__), add_help=add_help)
    p.add_argument("--kind", default="rpc", choices=["rpc", "coco", "synthetic_exemplars"],
                   help="the exemplars' dataset kind (hl_detect.data.build_dataset)")
    p.add_argument("--root", default=None, help="dataset root (rpc: retail_product_checkout/)")
    p.add_argument("--split", default="train", help="the exemplar split (RPC: train = train2019)")
    p.add_argument("--ann-file", default=None, help="COCO/RPC: the exemplars' annotation JSON")
    p.add_argument("--img-dir", default=None, help="COCO/RPC: the folder its file_names are relative to")
    p.add_argument("--output", required=True, help="output folder (new, empty, or an unfinished run of this tool)")
    p.add_argument("--output-split", default="train", help="names the output: <split>2019/, instances_<split>2019.json")
    p.add_argument("--trays", type=int, default=1000, help="number of trays")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backgrounds", default=None, help="folder of empty-tray photos (default: generated trays)")
    p.add_argument("--background", default="textured", choices=["plain", "textured"], help="generated tray kind")
    p.add_argument("--method", default="background", choices=["background", "grabcut"], help="cut-out method")
    p.add_argument("--tray-size", type=int, nargs="+", default=[800], help="H W of a tray (one value: square)")
    p.add_argument("--min-products", type=int, default=3)
    p.add_argument("--max-products", type=int, default=20)
    p.add_argument("--max-occluded", type=float, default=0.5, help="a product hidden beyond this fraction is unlabelled")
    p.add_argument("--camera-scale", type=float, default=None,
                   help="tray pixels per exemplar pixel (default: from --product-fraction)")
    p.add_argument("--product-fraction", type=float, default=0.28,
                   help="the median exemplar's longer side as a fraction of the tray's longer side")
    p.add_argument("--align", default="none", choices=["none", "upright"],
                   help="upright: stand each cut-out's long side upright before --rotation (undo the turntable's angle)")
    p.add_argument("--rotation", type=float, default=180.0,
                   help="products turn by up to +- this many degrees (180: lying anyhow; a few: set down upright)")
    p.add_argument("--upside-down", type=float, default=0.5,
                   help="with --align upright: the probability of a 180-degree turn (which end is up is unknown)")
    p.add_argument("--sharpen", type=float, default=0.0,
                   help="unsharp-mask amount on each pasted product (a resampled cut-out is softer than its photo)")
    p.add_argument("--shadow", type=float, default=TrayConfig.shadow,
                   help="darkening of the tray under each product's soft shadow, 0..1 (0: none)")
    p.add_argument("--colour-jitter", type=float, default=TrayConfig.colour_jitter,
                   help="per product: colour gain 1 +- this, offset +- 20 x this grey levels (0: none)")
    p.add_argument("--blur", type=float, default=TrayConfig.blur,
                   help="probability that a tray gets a slight Gaussian blur (camera focus; 0: never)")
    p.add_argument("--noise", type=float, default=TrayConfig.noise, help="sensor noise, std in grey levels (0: none)")
    p.add_argument("--placement-tries", type=int, default=5,
                   help="random spots tried per product; the one hiding the fewest pasted pixels wins")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar (default: on a TTY)")
    add_debug_argument(p)
    return p


def background_files(folder) -> list[Path]:
    if folder is None:
        return []
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingFileError(f"--backgrounds {folder}: folder not found")
    files = sorted(f for f in folder.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise MissingFileError(f"--backgrounds {folder}: no images ({', '.join(IMAGE_SUFFIXES)}) in it")
    for f in files:
        read_image_size(f)  # an unreadable photo is named now, not at tray 5,000
    return files


def main(args) -> int:
    kw = {k: v for k, v in (("ann_file", args.ann_file), ("img_dir", args.img_dir)) if v is not None}
    exemplars = build_dataset(args.kind, args.root if args.root is not None or args.kind != "coco" else ".",
                              args.split, train=True, **kw)
    size = args.tray_size if len(args.tray_size) == 2 else args.tray_size[0]
    config = TrayConfig(min_products=args.min_products, max_products=args.max_products, tray_size=size,
                        max_occluded=args.max_occluded, camera_scale=args.camera_scale,
                        product_fraction=args.product_fraction, background=args.background,
                        align=args.align, rotation=args.rotation, upside_down=args.upside_down,
                        placement_tries=args.placement_tries, sharpen=args.sharpen, shadow=args.shadow,
                        colour_jitter=args.colour_jitter, blur=args.blur, noise=args.noise)
    progress = args.progress and sys.stderr.isatty()
    counts = synthesize_checkout(exemplars, args.output, args.trays, args.seed, config,
                                 background_files(args.backgrounds), args.output_split, args.method, progress)
    print(f"{counts['trays']} trays ({counts['resumed']} already there), {counts['products']} labelled products, "
          f"{counts['dropped']} hidden beyond --max-occluded and left unlabelled; "
          f"{Path(args.output) / f'instances_{args.output_split}2019.json'}")
    return 0


def cli(argv=None) -> None:
    """The console script (hl-synthesize-checkout): exit status 0, or 2 for a user error."""
    sys.exit(main_guard(main, get_args_parser().parse_args(argv)))
