"""Command-line arguments shared by the tools that train (train_det, compare_losses).

A run's config = configs/<dataset>.yaml (+ --config files) + flag overrides + --set KEY=VALUE.
Flags have torchvision's references/detection/train.py names as aliases (--data-path, --model,
-b, -j, --print-freq, --use-deterministic-algorithms; --weights and --weights-backbone are the
same names there), so its users' command lines work here; --model also takes its Faster R-CNN
builder names (hl_detect/models/stock.py).

Also what every tool's --help has in common: the docstring's examples in an "examples:"
section, and ``--debug`` (hl_detect/errors.py: user errors print without a traceback).
"""
from __future__ import annotations

import argparse
import re
import textwrap
from pathlib import Path

from .config import check_names, dataset_config_path, load_config
from ..errors import DEBUG_ENV

# flag -> config key (--threads: train_det's and compare_losses' own flags, both torch threads per run)
_FLAG_KEYS = {
    "loss": "loss", "head": "model.head", "epochs": "epochs", "batch_size": "batch_size", "lr": "lr",
    "seed": "seed", "device": "device", "data_root": "data.root", "workers": "data.workers", "threads": "threads",
    "image_size": "input_size", "print_freq": "log_every", "weights": "model.weights",
    "weights_backbone": "model.weights_backbone",
}
# torchvision's reference writes no weights as None; YAML reads "None" as a name, so say null
_WEIGHTS_FLAGS = ("weights", "weights_backbone")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="demo", help="config name in configs/ (demo, voc0712, rpc) or a YAML path")
    parser.add_argument("--config", action="append", default=[], help="extra YAML files merged after the dataset's")
    parser.add_argument("--loss", help="hl | softmax | cl | ccl | cosface | arcface | ...")
    parser.add_argument("--head", "--model", dest="head",
                        help="mlp2048 | c4 | mobilenet | tiny, or a torchvision builder: fasterrcnn_resnet50_fpn | "
                             "fasterrcnn_resnet50_fpn_v2 | fasterrcnn_mobilenet_v3_large_fpn | "
                             "fasterrcnn_mobilenet_v3_large_320_fpn (converted to --loss as our heads are)")
    parser.add_argument("--weights", help="torchvision builders (--model): whole-detector weights, a name (COCO_V1, "
                                          "DEFAULT) read from torch's hub cache, or a .pth file; the box predictor is "
                                          "then new, for the dataset's classes (model.weights)")
    parser.add_argument("--weights-backbone", help="ImageNet backbone weights name, e.g. IMAGENET1K_V1, or none "
                                                   "(model.weights_backbone)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("-b", "--batch-size", type=int, help="images per step (per process under torchrun)")
    parser.add_argument("--lr", type=float)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--device", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--amp", action="store_true", help="mixed precision (CUDA)")
    parser.add_argument("--deterministic", "--use-deterministic-algorithms", dest="deterministic", action="store_true",
                        help="deterministic kernels only, fixed threads, seeded workers (same weights on a rerun)")
    parser.add_argument("--data-root", "--data-path", dest="data_root", help="dataset root (overrides data.root)")
    parser.add_argument("-j", "--workers", type=int, help="data loader processes")
    parser.add_argument("--print-freq", type=int, metavar="STEPS",
                        help="steps between progress lines off a terminal ([train], and [eval] batch lines), "
                             "TensorBoard's training scalars and HL gradient-ratio measurements (log_every)")
    parser.add_argument("--image-size", type=int, metavar="S",
                        help="input size for data and model together (input_size): S x S, or shorter side S "
                             "where the config keeps the aspect ratio; --set input_size=[MIN,MAX] for both sides")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (logs, CI)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override any config key, e.g. --set lr=2e-4 --set data.test.options.ann_file=test.json")
    add_debug_argument(parser)


def add_debug_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true",
                        help=f"show the full traceback of an error (or set {DEBUG_ENV}=1)")


_EXAMPLE = re.compile(r"^\s*(python|torchrun) ")


def help_layout(doc: str) -> dict:
    """ArgumentParser keywords from a tool's docstring: its command lines go to an "examples:" epilog.

    An example is a line starting with ``python`` or ``torchrun``, with its ``\\`` continuations."""
    lines, examples, text = textwrap.dedent(doc.strip("\n")).splitlines(), [], []
    for line in lines:
        continued = bool(examples) and examples[-1].rstrip().endswith("\\")
        (examples if _EXAMPLE.match(line) or continued else text).append(line)
    description = re.sub(r"\n{3,}", "\n\n", "\n".join(text)).strip()
    examples = textwrap.dedent("\n".join(examples)).splitlines()
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples) if examples else None
    return {"description": description, "epilog": epilog, "formatter_class": argparse.RawDescriptionHelpFormatter}


def _flag_value(flag: str, value) -> str:
    if flag in _WEIGHTS_FLAGS and str(value).lower() in ("none", "null"):
        return "null"
    return str(value)


def config_overrides(args: argparse.Namespace) -> list[str]:
    overrides = [f"{key}={_flag_value(flag, getattr(args, flag))}" for flag, key in _FLAG_KEYS.items()
                 if getattr(args, flag, None) is not None]
    if getattr(args, "amp", False):
        overrides.append("amp=true")
    if getattr(args, "deterministic", False):
        overrides.append("deterministic=true")
    return overrides + list(args.overrides)


def config_from_args(args: argparse.Namespace, base_paths: list | None = None, resuming: bool = False) -> dict:
    """``resuming``: the weights come from the checkpoint, so a --weights file need not exist."""
    paths = base_paths or [dataset_config_path(args.dataset), *args.config]
    return check_names(load_config(paths, config_overrides(args)), read_weights=not resuming)


def run_dir_of(path: str) -> Path:
    """A run folder from a run folder or a checkpoint file inside it."""
    p = Path(path)
    return p if p.is_dir() else p.parent
