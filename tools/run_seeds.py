#!/usr/bin/env python
"""Run one config over several seeds and print the paper's best / mean / std table.

    python tools/run_seeds.py --dataset voc0712 --seeds 0 1 2 3 4        # Table VIII style
    python tools/run_seeds.py --seeds 0 1 2 --set epochs=4                # demo, 3 seeds

Runs go to <output-dir>/seed<k>; a seed whose eval.json exists is not run again, so an
interrupted series continues where it stopped. The table is written to summary.json/.txt.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hl_detect.run.cli import add_config_arguments, config_from_args, help_layout  # noqa: E402
from hl_detect.errors import main_guard  # noqa: E402


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(**help_layout(__doc__), add_help=add_help)
    add_config_arguments(parser)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--output-dir", help="default runs/<dataset>_<loss>_<head>_seeds")
    return parser


def main(args: argparse.Namespace) -> dict:
    from hl_detect.evaluation import aggregate_runs, format_aggregate_table
    from hl_detect.run.train import run_training

    base = config_from_args(args)
    out_dir = Path(args.output_dir or f"runs/{base['dataset']}_{base['loss']}_{base['model']['head']}_seeds")
    reports = []
    for seed in args.seeds:
        run_dir = out_dir / f"seed{seed}"
        report = run_dir / "eval.json"
        if report.is_file():
            print(f"[seeds] seed {seed}: done before ({report}), not rerun")
        else:
            # a seed stopped before its report: continued, not started again over its checkpoint
            resume = str(run_dir) if (run_dir / "checkpoint.pt").is_file() else None
            run_training({**base, "seed": seed, "output_dir": str(run_dir)}, resume=resume, progress=not args.no_progress)
        reports.append(report)
    aggregate = aggregate_runs(reports)
    table = format_aggregate_table(aggregate)
    print(f"\n{base['dataset']} | loss {base['loss']} | head {base['model']['head']} | seeds {args.seeds}\n{table}")
    (out_dir / "summary.json").write_text(json.dumps(aggregate, indent=1))
    (out_dir / "summary.txt").write_text(table + "\n")
    return aggregate


if __name__ == "__main__":
    main_guard(main, get_args_parser().parse_args())
