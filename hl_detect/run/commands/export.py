"""Export a trained model for deployment: a stock torchvision detector as TorchScript or ONNX.

    python tools/export.py runs/demo_cosface_tiny_seed0 --format onnx --output model.onnx
    python tools/export.py runs/demo_cosface_tiny_seed0/checkpoint.pt --format torchscript --output model.pt

The model is loaded as eval_det.py loads it, reverted to stock torchvision (the hypersphere
loss's training state is left behind), and written on the CPU. Beside it, <output>.json
names the categories each label stands for and the input and outputs (docs/deploy.md).
Input: an RGB image, float32 [3, H, W] in [0, 1], any size; outputs: boxes (x1, y1, x2, y2
in that image's pixels), labels (1..C), scores. ONNX needs the `onnx` package to write.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..cli import add_debug_argument, help_layout
from ...errors import main_guard
from ...export import FORMATS

DEFAULT_NAMES = {"onnx": "model.onnx", "torchscript": "model.torchscript.pt"}


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(**help_layout(__doc__), add_help=add_help)
    parser.add_argument("checkpoint", help="checkpoint file or run folder")
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--output",
                        help=f"file to write (default: the run folder's {' / '.join(DEFAULT_NAMES.values())})")
    add_debug_argument(parser)
    return parser


def model_card(args, output: Path, categories) -> dict:
    """What a program running the file needs besides it: what the labels are, what goes in and out."""
    return {
        "model": output.name, "format": args.format, "exported_from": str(args.checkpoint),
        "input": "RGB image, float32 [3, H, W] in [0, 1], any size (the model resizes and normalizes)",
        "outputs": "boxes [D, 4] x1 y1 x2 y2 in the input image's pixels, labels [D] (1..C), scores [D]",
        "categories": [{"label": k, "id": c.get("id"), "name": c["name"], "supercategory": c.get("supercategory")}
                       for k, c in enumerate(categories, start=1)],
    }


def main(args: argparse.Namespace) -> Path:
    import torch

    from ...atomic_files import write_text_atomic
    from ...export import check_format, check_output, export_detector
    from ..load import load_run

    check_format(args.format)  # onnx not installed, or the output a folder: said before the model loads
    run_dir = Path(args.checkpoint) if Path(args.checkpoint).is_dir() else Path(args.checkpoint).parent
    output = check_output(args.output or run_dir / DEFAULT_NAMES[args.format])
    model, _, categories = load_run(args.checkpoint, torch.device("cpu"))  # a missing run fails here, named
    export_detector(model, args.format, output)
    card = Path(f"{output}.json")
    write_text_atomic(card, json.dumps(model_card(args, output, categories), indent=1))
    print(f"[export] {args.format} -> {output} ({output.stat().st_size / 1e6:.1f} MB); labels and input in {card}")
    return output


def cli(argv=None) -> None:
    """The console script (a user error: two lines and exit status 2)."""
    main_guard(main, get_args_parser().parse_args(argv))
