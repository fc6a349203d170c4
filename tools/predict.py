#!/usr/bin/env python
"""Run a checkpoint on images: pictures with labelled boxes, detections JSON, receipts.

    python tools/predict.py runs/demo_hl_tiny_seed0 data/synthetic_20/JPEGImages/000401.jpg
    python tools/predict.py RUN path/to/folder --score-threshold 0.6 --output-dir out/

For every image: <name>.png (boxes with "product score"), <name>.json (all detections
above --min-score in original pixel coordinates), <name>.receipt.json and
<name>.receipt.txt (product x count of detections above --score-threshold).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hl_detect.cli import add_debug_argument, help_layout  # noqa: E402
from hl_detect.errors import MissingFileError, main_guard  # noqa: E402

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
IMAGES_HINT = f"give image files or folders that hold them ({', '.join(sorted(IMAGE_SUFFIXES))})"


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(**help_layout(__doc__), add_help=add_help)
    parser.add_argument("checkpoint", help="checkpoint file or run folder")
    parser.add_argument("inputs", nargs="+", help="image files or folders")
    parser.add_argument("--output-dir", default=None, help="default: <run folder>/predict")
    parser.add_argument("--score-threshold", type=float, default=0.5, help="for pictures and receipts")
    parser.add_argument("--min-score", type=float, default=0.05, help="detections kept in the JSON")
    parser.add_argument("--device", default="auto")
    add_debug_argument(parser)
    return parser


def list_images(inputs) -> list[Path]:
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            files += sorted(p for p in item.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif item.is_file():
            files.append(item)
        else:
            raise MissingFileError(f"no such image or folder: {item}", hint=IMAGES_HINT)
    if not files:
        raise MissingFileError(f"no images found in {', '.join(map(str, inputs))}", hint=IMAGES_HINT)
    return files


def main(args: argparse.Namespace) -> list[dict]:
    import numpy as np
    import torch

    from hl_detect.data import build_eval_transforms, read_image
    from hl_detect.receipt import format_receipt, make_receipt
    from hl_detect.runner import load_model_from_checkpoint, select_device
    from hl_detect.visualize import draw_detections, save_picture

    images = list_images(args.inputs)  # a mistyped path fails before the model loads
    device = select_device(args.device)
    model, cfg, class_names = load_model_from_checkpoint(args.checkpoint, device)
    transform = build_eval_transforms(**(cfg["data"].get("resize") or {}))
    run_dir = Path(args.checkpoint) if Path(args.checkpoint).is_dir() else Path(args.checkpoint).parent
    out_dir = Path(args.output_dir) if args.output_dir else run_dir / "predict"
    out_dir.mkdir(parents=True, exist_ok=True)
    receipts = []
    for path in images:
        image = read_image(path)  # uint8 [H0, W0, 3] RGB, any mode converted; raises naming the file
        h0, w0 = image.shape[:2]
        sample = transform(image=image, boxes=np.zeros((0, 4), np.float32), labels=np.zeros(0, np.int64), difficult=np.zeros(0, bool))
        resized = sample["image"]
        tensor = torch.from_numpy(np.ascontiguousarray(resized)).permute(2, 0, 1).float().div(255)
        with torch.no_grad():
            prediction = {k: v.cpu() for k, v in model([tensor.to(device)])[0].items()}
        h, w = resized.shape[:2]
        # back to the original image's pixels: the eval transform only resized
        prediction["boxes"] = prediction["boxes"] * torch.tensor([w0 / w, h0 / h, w0 / w, h0 / h])
        keep = prediction["scores"] >= args.min_score
        detections = [{"box_xyxy": [round(v, 2) for v in box], "label": int(label), "product": class_names[int(label) - 1], "score": round(float(score), 4)}
                      for box, label, score in zip(prediction["boxes"][keep].tolist(), prediction["labels"][keep], prediction["scores"][keep])]
        stem = path.stem
        save_picture(draw_detections(image, prediction, class_names, args.score_threshold), out_dir / f"{stem}.png")
        (out_dir / f"{stem}.json").write_text(json.dumps({"image": str(path), "width": w0, "height": h0, "detections": detections}, indent=1))
        receipt = make_receipt(prediction, class_names, args.score_threshold, image=path.name)
        (out_dir / f"{stem}.receipt.json").write_text(json.dumps(receipt, indent=1))
        (out_dir / f"{stem}.receipt.txt").write_text(format_receipt(receipt))
        receipts.append(receipt)
        print(format_receipt(receipt))
    print(f"[predict] {len(receipts)} images -> {out_dir} (pictures, detections JSON, receipts)")
    return receipts


if __name__ == "__main__":
    main_guard(main, get_args_parser().parse_args())
