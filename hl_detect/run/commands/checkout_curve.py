"""Checkout metrics against training time: every epoch checkpoint of a run, each with its
threshold chosen on the validation split and reported on test (as eval_det.py --sweep does).

    python tools/train_det.py --dataset demo_checkout --set keep_epoch_checkpoints=true
    python tools/checkout_curve.py runs/demo_checkout_cosface+hl_tiny_seed0 --target-cacc 0.3 --target-mciou 0.8
    python tools/checkout_curve.py ckpt_a.pt ckpt_b.pt        # or any checkpoint files
    python tools/checkout_curve.py runs/demo_checkout_cosface+hl_tiny_seed{0,1,2,3,4}/checkpoint.pt \
        --seeds --target-cacc 0.3 --target-mciou 0.8 --output-dir runs/demo_checkout_seeds

A run folder stands for its epochs/epoch_NNN.pt (written with keep_epoch_checkpoints) and,
without those, its checkpoint.pt. Time is the checkpoint's train_seconds: wall seconds the
run spent training and evaluating, summed over resumed sessions (data generation and model
building are not in it). Each checkpoint's eval_det report goes to
<output-dir>/<checkpoint name>/ (default output-dir: <run>/curve); the table is printed and
written to <output-dir>/checkout_curve.md and .json. With targets, the first checkpoint that
meets them all is named, or the report says that none did. --seeds: the checkpoints are
seeds of one recipe; the report adds each metric's mean +- 95 % CI and how many seeds meet
the targets. Checkpoints whose file names repeat are named by their folders.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..cli import add_debug_argument, help_layout
from ...errors import ConfigError, main_guard
from ...checkout.curve import (checkpoint_labels, curve_row, format_curve, seed_summary,
                                                 target_line)
from ...checkout.counting import COUNT_RULES
from ..checkpoint_eval import EvalOptions, evaluate_checkpoint


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(**help_layout(__doc__), add_help=add_help)
    parser.add_argument("checkpoints", nargs="+", help="a run folder, or checkpoint files")
    parser.add_argument("--count-rule", choices=COUNT_RULES, help="default: the run's checkout_count_rule")
    parser.add_argument("--val-split", help="split to choose thresholds on (default: the run's data.val.split)")
    parser.add_argument("--target-cacc", type=float, help="a test cAcc to reach (fraction, e.g. 0.3)")
    parser.add_argument("--target-mciou", type=float, help="a test mCIoU to reach (fraction, e.g. 0.8)")
    parser.add_argument("--seeds", action="store_true",
                        help="the checkpoints are seeds of one recipe: mean +- 95 %% CI, seeds meeting the targets")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output-dir", help="default: <run>/curve")
    add_debug_argument(parser)
    return parser


def checkpoint_files(paths) -> list[Path]:
    """A run folder -> its epoch checkpoints (or checkpoint.pt); files stay as given."""
    from ...engine.trainer import CHECKPOINT, EPOCH_CHECKPOINTS

    files = []
    for p in map(Path, paths):
        if p.is_dir():
            epochs = sorted((p / EPOCH_CHECKPOINTS).glob("epoch_*.pt"))
            if not epochs and not (p / CHECKPOINT).is_file():
                raise ConfigError(f"{p}: no {EPOCH_CHECKPOINTS}/epoch_*.pt and no {CHECKPOINT} to evaluate",
                                  hint="train with --set keep_epoch_checkpoints=true for one checkpoint per epoch")
            files += epochs or [p / CHECKPOINT]
        else:
            files.append(p)
    return files


def main(args: argparse.Namespace) -> list[dict]:
    from ...engine.checkpoint import load_checkpoint

    files = checkpoint_files(args.checkpoints)
    first = Path(args.checkpoints[0])
    out_dir = Path(args.output_dir) if args.output_dir else (first if first.is_dir() else first.parent) / "curve"
    rows = []
    for path, label in zip(files, checkpoint_labels(files)):
        ckpt = load_checkpoint(path)  # fails on a missing or broken file before its evaluation
        rule = args.count_rule or ckpt["config"].get("checkout_count_rule", "per_class")
        opts = EvalOptions(str(path), sweep=True, no_progress=True, workers=args.workers, device=args.device,
                           output_dir=str(out_dir / label), count_rule=rule, val_split=args.val_split)
        log: list[str] = []  # the full report is in its folder; print the curve only
        result = evaluate_checkpoint(opts, say=log.append)
        (out_dir / label / "eval.log").write_text("".join(f"{line}\n" for line in log))
        rows.append(curve_row(path, result, rule, ckpt, label))
        row = rows[-1]
        print(f"[curve] {path}: epoch {row['epoch']}, step {row['step']}: test cAcc {100 * row['test_cAcc']:.2f} "
              f"mCIoU {100 * row['test_mCIoU']:.2f} at {row['threshold']:.2f} (chosen on val)", flush=True)
    table = format_curve(rows)
    lines = [table]
    if args.seeds:
        lines.append("\n" + seed_summary(rows, args.target_cacc, args.target_mciou))
    elif args.target_cacc is not None or args.target_mciou is not None:
        lines.append("\n" + target_line(rows, args.target_cacc, args.target_mciou))
    text = "\n".join(lines) + "\n"
    print(text)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "checkout_curve.md").write_text(text)
    (out_dir / "checkout_curve.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(f"[curve] written to {out_dir / 'checkout_curve.md'} and .json")
    return rows


def cli(argv=None) -> None:
    """The console script (a user error: two lines and exit status 2)."""
    main_guard(main, get_args_parser().parse_args(argv))
