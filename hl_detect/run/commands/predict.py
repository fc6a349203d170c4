"""Run a checkpoint on images: receipts, detections JSON and pictures a person can read.

    python tools/predict.py runs/demo_cosface_tiny_seed0 data/synthetic_20/JPEGImages/000401.jpg
    python tools/predict.py RUN path/to/folder --recursive --output-dir out/
    python tools/predict.py RUN trays/ --thresholds RUN/checkout_thresholds.json --no-pictures

For every image, named by its path relative to the folder the inputs share (cam1/0001.jpg ->
cam1/0001.*, so cameras never collide): <name>.png (or .jpg, --format) with the counted
items boxed and named and the receipt printed beside them; <name>.json (every detection
above --min-score, original pixels, with category_id, product and supercategory);
<name>.receipt.json (product x count, each line with its boxes and scores) and
<name>.receipt.txt. summary.json lists the images done and those skipped. --csv PATH adds
one table of every image's counts (a column per product, in the model's order, and the
total), written row by row as the images are done; with --no-per-image it (and/or
--coco-results) is all that is written besides summary.json, for folders of thousands of
trays. A name whose
outputs would meet another's (summary.jpg's summary.json, tray.receipt.jpg's tray.receipt.json
beside tray.jpg's) is changed (summary_jpg, tray_receipt; hl_detect/output_names.py); each
<name>.json names its image.

Items are counted as the run's checkout metrics count them: its checkout_threshold and
checkout_count_rule, or a thresholds file that eval_det.py --checkout --sweep chose on
validation data (--thresholds, --per-class-thresholds), or --score-threshold / --count-rule.
An image that cannot be read is reported and skipped; the others are still done.

--coco-results PATH also writes every detection the model returned (not only those above
--min-score, so AP matches eval_det.py's) as a COCO results JSON ([{image_id, category_id,
bbox: [x, y, w, h], score}], original pixels) with the model's category ids. Image ids: those
of a COCO annotation file given with --image-ids (matched by file_name), else the numbers in
the file names, else 1..N; summary.json lists them (hl_detect/run/image_ids.py, docs/deploy.md).
"""
from __future__ import annotations

import argparse
import json
from contextlib import nullcontext
from pathlib import Path

from ..cli import add_debug_argument, help_layout
from ...errors import ConfigError, MissingFileError, main_guard
from ...checkout.counting import COUNT_RULES

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
IMAGES_HINT = f"give image files or folders that hold them ({', '.join(sorted(IMAGE_SUFFIXES))})"
SUMMARY = "summary.json"
# every file main() writes per image name; both picture formats, so --format never renames
PER_IMAGE = (".json", ".receipt.json", ".receipt.txt", ".png", ".jpg")


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(**help_layout(__doc__), add_help=add_help)
    parser.add_argument("checkpoint", help="checkpoint file or run folder")
    parser.add_argument("inputs", nargs="+", help="image files or folders")
    parser.add_argument("--output-dir", default=None, help="default: <run folder>/predict")
    parser.add_argument("--recursive", action="store_true", help="also images in subfolders of the folders given")
    parser.add_argument("--score-threshold", type=float, help="an item's score (default: the run's checkout_threshold)")
    parser.add_argument("--thresholds", help="checkout_thresholds.json from eval_det.py --sweep (chosen on val)")
    parser.add_argument("--per-class-thresholds", action="store_true", help="with --thresholds: its per-class ones")
    parser.add_argument("--count-rule", choices=COUNT_RULES, help="default: the run's checkout_count_rule")
    parser.add_argument("--agnostic-iou", type=float, help="default: the run's checkout_agnostic_iou")
    parser.add_argument("--min-score", type=float, default=0.05, help="detections kept in the detections JSON")
    parser.add_argument("--format", choices=("png", "jpg"), default="png", help="picture format")
    parser.add_argument("--no-pictures", dest="pictures", action="store_false", help="JSON and receipts only")
    parser.add_argument("--coco-results", metavar="PATH", help="also every detection as one COCO results JSON")
    parser.add_argument("--image-ids", metavar="ANN_FILE",
                        help="with --coco-results: take image ids from this COCO annotation file (by file_name)")
    parser.add_argument("--csv", help="also a CSV: one row per image, its count of each product and the total")
    parser.add_argument("--no-per-image", dest="per_image", action="store_false",
                        help="with --csv or --coco-results: no per-image files (JSON, receipts, pictures) and a "
                             "progress line every 100 images instead of each receipt, for large folders")
    parser.add_argument("--device", default="auto")
    add_debug_argument(parser)
    return parser


def list_images(inputs, recursive: bool = False) -> list[Path]:
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = item.rglob("*") if recursive else item.iterdir()
            files += sorted(p for p in found if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        elif item.is_file():
            files.append(item)
        else:
            raise MissingFileError(f"no such image or folder: {item}", hint=IMAGES_HINT)
    if not files:
        raise MissingFileError(f"no images found in {', '.join(map(str, inputs))}", hint=IMAGES_HINT)
    return files


def predict_image(model, transform, device, path, max_pixels):
    """(uint8 image [H0, W0, 3], prediction in the original image's pixels); an image of more
    than `max_pixels` (the run's data.max_image_pixels) is a DatasetError, never decoded."""
    import numpy as np
    import torch

    from ...data import read_image

    image = read_image(path, max_pixels)  # any mode converted to RGB; raises DatasetError naming the file
    h0, w0 = image.shape[:2]
    sample = transform(image=image, boxes=np.zeros((0, 4), np.float32), labels=np.zeros(0, np.int64),
                       difficult=np.zeros(0, bool))
    resized = sample["image"]
    tensor = torch.from_numpy(np.ascontiguousarray(resized)).permute(2, 0, 1).float().div(255)
    with torch.no_grad():
        prediction = {k: v.cpu() for k, v in model([tensor.to(device)])[0].items()}
    h, w = resized.shape[:2]
    # back to the original image's pixels: the eval transform only resized
    prediction["boxes"] = prediction["boxes"] * torch.tensor([w0 / w, h0 / h, w0 / w, h0 / h])
    return image, prediction


def detections_json(prediction, categories, min_score: float) -> list[dict]:
    from ...checkout.products import category_of

    keep = prediction["scores"] >= min_score
    out = []
    for box, label, score in zip(prediction["boxes"][keep].tolist(), prediction["labels"][keep].tolist(),
                                 prediction["scores"][keep].tolist()):
        cat = category_of(categories, int(label))
        out.append({"box_xyxy": [round(v, 2) for v in box], "score": round(float(score), 4), "label": int(label),
                    "category_id": cat.category_id, "product": cat.name, "supercategory": cat.supercategory})
    return out


def coco_image_ids(args, images, names) -> dict[str, int] | None:
    """{output name: image id} for --coco-results (None without it), checked before any model loads."""
    from ...errors import ConfigError
    from ...evaluation.coco_results import check_results_path
    from ..image_ids import annotated_ids, numbered_ids

    if not args.coco_results:
        if args.image_ids:
            raise ConfigError("--image-ids only sets the ids of --coco-results", hint="add --coco-results PATH")
        return None
    check_results_path(args.coco_results)
    if args.image_ids:
        ids, rule = annotated_ids(images, args.image_ids), f"those of {args.image_ids}"
    else:
        ids, rule = numbered_ids(images)
    print(f"[predict] COCO results image ids: {rule}")
    return dict(zip(names, ids))


def _receipt(prediction, categories, counting, name) -> dict:
    """The image's items, counted as the run's checkout metrics count them."""
    from ...checkout.receipt import make_receipt

    receipt = make_receipt(prediction, categories, counting.threshold, image=name,
                           count_rule=counting.count_rule, agnostic_iou=counting.agnostic_iou)
    receipt["threshold_source"] = counting.source
    return receipt


def _write_outputs(args, base: Path, path, name, image, prediction, categories, receipt) -> None:
    """One image's detections JSON, receipt (JSON and text) and picture."""
    from ...checkout.picture import render_receipt_picture, save_receipt_picture
    from ...checkout.receipt import format_receipt

    h0, w0 = image.shape[:2]
    base.parent.mkdir(parents=True, exist_ok=True)
    detections = detections_json(prediction, categories, args.min_score)
    Path(f"{base}.json").write_text(json.dumps({"image": str(path), "name": name, "width": w0, "height": h0,
                                                "detections": detections}, indent=1))
    Path(f"{base}.receipt.json").write_text(json.dumps(receipt, indent=1))
    Path(f"{base}.receipt.txt").write_text(format_receipt(receipt))
    if args.pictures:
        save_receipt_picture(render_receipt_picture(image, receipt), Path(f"{base}.{args.format}"), args.format)


def main(args: argparse.Namespace) -> list[dict]:
    from ...checkout.count_table import CountTable, check_table_path
    from ...checkout.products import till_categories
    from ...checkout.receipt import format_receipt
    from ...checkout.settings import check_unit_interval, checkout_settings
    from ...data import DatasetError, build_eval_transforms
    from ...data.image_io import DEFAULT_MAX_IMAGE_PIXELS
    from ...evaluation.coco_results import coco_results, label_to_category_id, write_coco_results
    from ...output_names import output_names
    from ..load import load_run, select_device

    check_unit_interval(score_threshold=args.score_threshold, agnostic_iou=args.agnostic_iou)
    per_image = getattr(args, "per_image", True)
    if not per_image and not (args.csv or args.coco_results):
        raise ConfigError("--no-per-image leaves nothing to write without --csv or --coco-results",
                          hint="add --csv counts.csv (one row per image) or --coco-results results.json")
    images = list_images(args.inputs, args.recursive)  # a mistyped path fails before the model loads
    names = output_names(images, PER_IMAGE, reserved=[SUMMARY])
    image_ids = coco_image_ids(args, images, names)  # so is a results path or an annotation file that cannot work
    if args.csv:
        check_table_path(args.csv)  # and a --csv path that cannot be written
    device = select_device(args.device)
    model, cfg, stored = load_run(args.checkpoint, device)
    categories = till_categories(stored)
    counting = checkout_settings(cfg, args.score_threshold, args.count_rule, args.agnostic_iou, args.thresholds,
                                 per_class=args.per_class_thresholds, categories=categories)
    print(f"[predict] counting items with {counting.describe()}")
    transform = build_eval_transforms(**(cfg["data"].get("resize") or {}))
    max_pixels = cfg["data"].get("max_image_pixels", DEFAULT_MAX_IMAGE_PIXELS)  # runs older than the key: the default
    run_dir = Path(args.checkpoint) if Path(args.checkpoint).is_dir() else Path(args.checkpoint).parent
    out_dir = Path(args.output_dir) if args.output_dir else run_dir / "predict"
    receipts, skipped, results = [], [], []
    category_ids = label_to_category_id(stored)
    with (CountTable(args.csv, categories) if args.csv else nullcontext()) as table:
        for path, name in zip(images, names):
            try:
                image, prediction = predict_image(model, transform, device, path, max_pixels)
            except DatasetError as error:  # unreadable or truncated: report it, do the others
                skipped.append({"image": str(path), "reason": error.problem})
                print(f"[predict] skipped {path}: {error.problem}")
                continue
            receipt = _receipt(prediction, categories, counting, name)
            if per_image:  # else the counts alone: what the CSV needs, no file per image
                _write_outputs(args, out_dir / name, path, name, image, prediction, categories, receipt)
            if image_ids is not None:
                results += coco_results([image_ids[name]] * len(prediction["scores"]), prediction["labels"].numpy(),
                                        prediction["scores"].numpy(), prediction["boxes"].numpy(), category_ids)[0]
            if table is not None:
                table.add(path, receipt)
            receipts.append(receipt)
            if per_image:
                print(format_receipt(receipt))
            elif (len(receipts) + len(skipped)) % 100 == 0:
                print(f"[predict] {len(receipts) + len(skipped)}/{len(images)} images")
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {"done": [r["image"] for r in receipts], "skipped": skipped, "counting": counting.describe()}
    if image_ids is not None:
        write_coco_results(args.coco_results, results)
        summary["coco_image_ids"] = image_ids
        print(f"[predict] {len(results)} detections -> {args.coco_results} (COCO results)")
    (out_dir / SUMMARY).write_text(json.dumps(summary, indent=1))
    what = (("pictures, " if args.pictures else "") + "detections JSON, receipts") if per_image else SUMMARY
    print(f"[predict] {len(receipts)} of {len(images)} images -> {out_dir} ({what})"
          + (f"; counts per image -> {args.csv}" if args.csv else ""))
    if skipped:
        print(f"[predict] {len(skipped)} unreadable image(s) skipped; listed in {out_dir / SUMMARY}")
    if not receipts:
        raise DatasetError(args.inputs[0], f"none of the {len(images)} images could be read")
    return receipts


def cli(argv=None) -> None:
    """The console script (a user error: two lines and exit status 2)."""
    main_guard(main, get_args_parser().parse_args(argv))
