#!/usr/bin/env python
"""Checkout metrics of training recipes over paired seeds, as one markdown table (+ JSON).

    python tools/checkout_arms.py --arm "(a) exemplars=runs/exemplars/hl" \\
        --arm "(b) synthesized trays=runs/exemplars/hl__data.copy_paste-true" \\
        --arm "(c) real trays=runs/exemplars/hl__data.train.split-train_trays" \\
        --bound "(c) real trays" --output tools/results/checkout/exemplars_seeds

Each --arm is LABEL=FOLDER, FOLDER holding seed<k>/metrics.json (tools/train_det.py, or one
arm of tools/compare_losses.py). Prints mean ± 95 % CI over seeds of cAcc, mCIoU, box
accuracy (coverage) and AP50 at each run's own checkout settings, train minutes, and with
--bound each arm's share of that arm's cAcc (hl_detect/studies/checkout_arms.py). --seeds
keeps only those seeds' runs, e.g. the held-out seeds of a recipe tuned on others.
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from hl_detect.errors import ConfigError, main_guard  # noqa: E402
from hl_detect.run.cli import add_debug_argument, help_layout  # noqa: E402


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(**help_layout(__doc__))
    parser.add_argument("--arm", action="append", required=True, metavar="LABEL=FOLDER")
    parser.add_argument("--bound", help="label of the upper-bound arm (its cAcc share is reported)")
    parser.add_argument("--output", help="write OUTPUT.md and OUTPUT.json too")
    parser.add_argument("--seeds", type=int, nargs="+",
                        help="only these seeds' runs (e.g. those no design choice was tuned on); default: all")
    add_debug_argument(parser)
    return parser


def main(args) -> str:
    from hl_detect.studies.checkout_arms import ArmRuns, checkout_arms_table

    arms = []
    for spec in args.arm:
        label, sep, folder = spec.partition("=")
        if not sep or not label or not folder:
            raise ConfigError(f"--arm {spec!r}: expected LABEL=FOLDER")
        if not Path(folder).is_dir():
            raise ConfigError(f"--arm {spec!r}: no folder {folder}")
        arms.append(ArmRuns(label, Path(folder)))
    try:
        table, summary = checkout_arms_table(arms, args.bound, args.seeds)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    if args.seeds:
        for label, entry in summary.items():
            missing = sorted(set(args.seeds) - set(entry["seeds"]))
            if missing:
                print(f"[arms] {label}: no finished run for seed(s) {', '.join(map(str, missing))}; "
                      "its row has the others", file=sys.stderr)
    print(table)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output + ".md").write_text(table + "\n")
        Path(args.output + ".json").write_text(json.dumps(summary, indent=1, default=float))
    return table


if __name__ == "__main__":
    main_guard(main, get_args_parser().parse_args())
