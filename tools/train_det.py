#!/usr/bin/env python
"""Train a torchvision detector with the hypersphere loss and report AP@0.5 / box accuracy.

    python tools/train_det.py                          # the demo: embedded dataset, CPU, < 10 min
    python tools/train_det.py --dataset voc0712        # Pascal VOC 07+12 -> VOC2007 test (Table VIII)
    python tools/train_det.py --dataset rpc --loss softmax --head c4
    torchrun --nproc_per_node=8 tools/train_det.py --dataset voc0712 --amp
    python tools/train_det.py --resume runs/demo_hl_tiny_seed0      # exact, after Ctrl-C or kill -9
    python tools/train_det.py --deterministic --threads 2 --set checkpoint_every_minutes=5

Any config key can be overridden: ``--set lr=2e-4 --set loss_options.hl.weight=0.01``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from hl_detect.cli import add_config_arguments, config_from_args, help_layout, run_dir_of  # noqa: E402
from hl_detect.errors import MissingFileError, main_guard  # noqa: E402


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(**help_layout(__doc__), add_help=add_help)
    add_config_arguments(parser)
    parser.add_argument("--output-dir", help="run folder (default runs/<dataset>_<loss>_<head>_seed<seed>)")
    parser.add_argument("--resume", help="run folder or checkpoint file to continue from")
    parser.add_argument("--threads", type=int, help="torch CPU threads (a bit-identical rerun needs the same count)")
    return parser


def main(args: argparse.Namespace) -> dict:
    from hl_detect.runner import run_training

    if args.resume and not Path(args.resume).exists():  # say so before the data loads
        raise MissingFileError(f"--resume {args.resume}: no such run folder or checkpoint",
                               hint="give the folder of an interrupted run (it holds checkpoint.pt), e.g. --resume runs/demo_hl_tiny_seed0")
    base_paths = None
    if args.resume and not args.config:
        # resuming: start from the run's own resolved config; flags and --set still apply
        saved = run_dir_of(args.resume) / "config.yaml"
        if saved.is_file():
            base_paths = [saved]
    cfg = config_from_args(args, base_paths)
    if args.output_dir:
        cfg["output_dir"] = args.output_dir
    elif args.resume:
        cfg["output_dir"] = str(run_dir_of(args.resume))
    return run_training(cfg, resume=args.resume, progress=not args.no_progress)


if __name__ == "__main__":
    main_guard(main, get_args_parser().parse_args())
