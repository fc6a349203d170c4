#!/usr/bin/env python
"""Train several losses over several seeds and print the paper's Table VIII/IX layout.

    python tools/compare_losses.py --losses softmax ccl cosface arcface hl --seeds 0 1 2
    python tools/compare_losses.py --dataset voc0712 --seeds 0 1 2 3 4          # all losses, Table VIII
    python tools/compare_losses.py --table-only                                  # the table of what is done

Each run is hl_detect.runner.run_training on configs/<dataset>.yaml with loss=<name>,
seed=<k>, output_dir=<output-dir>/<name>/seed<k>. A run whose metrics.json exists is
not run again, and one interrupted mid-way resumes from its checkpoint, so a comparison
can be run in pieces. The table (AP@0.5 and best-matching-box accuracy: best / mean /
std over the seeds, in %) is printed and written to comparison.txt, comparison.md and
comparison.json in the output folder.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hl_detect.cli import add_config_arguments, config_overrides  # noqa: E402
from hl_detect.config import dataset_config_path, load_config  # noqa: E402

PAPER_ORDER = ("softmax", "asl", "er", "cl", "ccl", "mml", "hml", "cosface", "arcface", "hl")
AP_METRIC = {"area": "mAP50_area", "voc07": "mAP50_voc07"}


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, add_help=add_help, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(parser)
    parser.add_argument("--losses", nargs="+", help="loss names (default: every registered loss, in the paper's order)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--ap", choices=sorted(AP_METRIC), default="area",
                        help="AP@0.5 interpolation in the table: all-point area (the authors') or VOC07 11-point")
    parser.add_argument("--output-dir", help="default runs/compare_<dataset>")
    parser.add_argument("--table-only", action="store_true", help="train nothing; tabulate the finished runs")
    return parser


def default_losses() -> list[str]:
    from hl_detect.losses import LOSSES

    return [name for name in PAPER_ORDER if name in LOSSES] + sorted(set(LOSSES) - set(PAPER_ORDER))


def run_config(args: argparse.Namespace, loss: str, seed: int, run_dir: Path) -> dict:
    paths = [dataset_config_path(args.dataset), *args.config]
    return load_config(paths, config_overrides(args) + [f"loss={loss}", f"seed={seed}", f"output_dir={run_dir}"])


def run_all(args: argparse.Namespace, losses: list[str], out_dir: Path) -> None:
    """Train every (loss, seed) whose metrics.json is missing; resume interrupted ones."""
    from hl_detect.runner import CHECKPOINT, run_training

    for loss in losses:
        for seed in args.seeds:
            run_dir = out_dir / loss / f"seed{seed}"
            if (run_dir / "metrics.json").is_file():
                print(f"[compare] {loss} seed {seed}: done before ({run_dir}), not rerun")
                continue
            resume = run_dir / CHECKPOINT
            print(f"[compare] {loss} seed {seed}: " + ("resuming" if resume.is_file() else "training") + f" in {run_dir}")
            run_training(run_config(args, loss, seed, run_dir), resume=str(resume) if resume.is_file() else None,
                         progress=not args.no_progress)


def collect(out_dir: Path, losses: list[str], seeds: list[int], ap_metric: str) -> dict:
    """{loss: aggregate_runs(...)} over the finished runs (metrics.json "final" of each seed)."""
    from hl_detect.evaluation import aggregate_runs

    table = {}
    for loss in losses:
        finals = []
        for seed in seeds:
            path = out_dir / loss / f"seed{seed}" / "metrics.json"
            if path.is_file():
                finals.append(json.loads(path.read_text())["final"])
        if finals:
            table[loss] = aggregate_runs(finals, metrics=(ap_metric, "box_accuracy"))
    return table


def format_comparison(table: dict, ap_metric: str, markdown: bool = False) -> str:
    """Rows = losses; AP@0.5 and accuracy as best / mean / std (%), n = seeds that finished."""
    header = ["Method", "AP50 best", "AP50 mean", "AP50 std", "Acc best", "Acc mean", "Acc std", "n"]
    rows = []
    for loss, agg in table.items():
        row = [loss]
        for metric in (ap_metric, "box_accuracy"):
            a = agg.get(metric)
            row += ["-"] * 3 if a is None else [f"{100 * a['best']:.2f}", f"{100 * a['mean']:.2f}", f"{100 * a['std']:.2f}"]
        row.append(str(max((a["n"] for a in agg.values()), default=0)))
        rows.append(row)
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    fmt = lambda r: "  ".join(x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(zip(r, widths)))
    return "\n".join([fmt(header), "-" * len(fmt(header))] + [fmt(r) for r in rows])


def main(args: argparse.Namespace) -> dict:
    if args.loss:
        raise SystemExit("compare_losses takes --losses NAME [NAME ...], not --loss")
    losses = args.losses or default_losses()
    out_dir = Path(args.output_dir or f"runs/compare_{Path(args.dataset).stem}")
    if not args.table_only:
        run_all(args, losses, out_dir)
    ap_metric = AP_METRIC[args.ap]
    table = collect(out_dir, losses, args.seeds, ap_metric)
    text = format_comparison(table, ap_metric)
    title = f"{args.dataset} | seeds {args.seeds} | AP@0.5 ({args.ap}) and box accuracy, %"
    print(f"\n{title}\n{text}")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "comparison.txt").write_text(f"{title}\n{text}\n")
    (out_dir / "comparison.md").write_text(format_comparison(table, ap_metric, markdown=True) + "\n")
    (out_dir / "comparison.json").write_text(json.dumps({"ap_metric": ap_metric, "seeds": args.seeds, "table": table}, indent=1))
    return table


if __name__ == "__main__":
    main(get_args_parser().parse_args())
