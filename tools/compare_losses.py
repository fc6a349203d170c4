#!/usr/bin/env python
"""Train several losses (arms) over paired seeds; print the paper's table and a study table.

    python tools/compare_losses.py --losses softmax ccl cosface arcface hl --seeds 0 1 2
    python tools/compare_losses.py --dataset voc0712 --seeds 0 1 2 3 4          # all losses, Table VIII
    python tools/compare_losses.py --dataset voc0712 --losses hl --seeds 0 1 2 3 4   # one loss, best/mean/std
    python tools/compare_losses.py --dataset study_hl --losses softmax "hl[normalize_by=elements]" \\
        --sweep loss_options.hl.weight=0.002,0.02,0.2,2,20 --seeds 0 1 2 --parallel 2 --threads 1 \\
        --plot loss_options.hl.weight                                            # a lambda sweep
    python tools/compare_losses.py ... --table-only                              # tabulate what is done
    python tools/compare_losses.py --from-json tools/results/study_hl/study.json --baseline cosface \
        --output-dir /tmp/vs_cosface            # re-analyse a committed study (no run folders needed)

An arm is ``LOSS`` or ``LOSS[key=value,...]`` (hl_detect/studies/arms.py: a key without a dot
is an option of the loss). Each run is tools/train_det.py's job on configs/<dataset>.yaml
with the arm's overrides, ``seed=<k>``, in ``<output-dir>/<arm folder>/seed<k>``. Runs go
seed by seed (every arm's seed 0 first), so a partial study is already paired. A run whose
metrics.json exists is not run again, one interrupted mid-way resumes from its
checkpoint: stop at any time and run the same command again. ``--parallel N`` trains N
runs side by side as subprocesses with ``--threads`` torch threads each; Ctrl-C or SIGTERM
stops them all at their next step, each with its resumable checkpoint.

Written to the output folder: comparison.txt/.md/.json (the paper's layout: best / mean /
std over seeds) and study.md/.json (mean ± 95 % CI, the paired difference to
``--baseline`` with its CI, the HL/CE gradient ratio), and with ``--plot KEY`` a PNG of
box accuracy and AP50 against the swept key.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hl_detect.run.cli import add_config_arguments, config_overrides, help_layout  # noqa: E402
from hl_detect.run.config import check_loss_name, check_names, dataset_config_path, load_config  # noqa: E402
from hl_detect.errors import main_guard  # noqa: E402
from hl_detect.stats import percent  # noqa: E402
from hl_detect.studies.strength_plot import plot_by_grad_ratio  # noqa: E402
from hl_detect.studies.arms import Arm, expand_sweeps, parse_arm, parse_sweep, run_folder  # noqa: E402
from hl_detect.studies.parallel_runs import Job, run_side_by_side  # noqa: E402
from hl_detect.studies.results import (  # noqa: E402
    finals_from_study_json, load_finals, results_from_finals, results_json,
)
from hl_detect.studies.study_table import format_study  # noqa: E402
from hl_detect.studies.sweep_plot import plot_sweep  # noqa: E402
from hl_detect import tables  # noqa: E402

PAPER_ORDER = ("softmax", "asl", "er", "cl", "ccl", "mml", "hml", "cosface", "arcface", "hl")
AP_METRIC = {"area": "mAP50_area", "voc07": "mAP50_voc07"}
TRAIN_TOOL = Path(__file__).resolve().parent / "train_det.py"
STDERR_LOG = "stderr.log"  # beside the train.log each run writes (hl_detect/run/console_log.py)


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(**help_layout(__doc__), add_help=add_help)
    add_config_arguments(parser)
    parser.add_argument("--losses", nargs="+", metavar="ARM",
                        help="arms: LOSS or LOSS[key=value,...] (default: every registered loss, in the paper's order)")
    parser.add_argument("--sweep", action="append", default=[], metavar="KEY=V1,V2",
                        help="one arm per value for every arm that uses KEY, e.g. loss_options.hl.weight=0.002,0.02")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4],
                        help="one run per arm and seed (--seed, the single-run flag, is refused here)")
    parser.add_argument("--baseline", default="softmax", help="arm the paired differences are taken against")
    parser.add_argument("--claim-seeds", type=int, default=5, metavar="N",
                        help="paired seeds an arm needs before the table gives a verdict (better / worse / "
                             "equivalent); below, 'undecided (n < N)' with p and CI still shown. Default 5; "
                             "the keystone study (study_hl_long) uses 8")
    parser.add_argument("--parallel", type=int, default=1, help="runs trained side by side (subprocesses)")
    parser.add_argument("--threads", type=int, help="torch threads per run (default: torch's choice; 1 with --parallel > 1)")
    parser.add_argument("--plot", action="append", default=[], metavar="KEY",
                        help="write sweep_<key>.png against this key; 'grad_ratio': strength.png, every HL arm placed "
                             "by its measured HL/CE gradient ratio")
    parser.add_argument("--ap", choices=sorted(AP_METRIC), default="area",
                        help="AP@0.5 interpolation in the table: all-point area (the authors') or VOC07 11-point")
    parser.add_argument("--output-dir", help="default runs/compare_<dataset>")
    parser.add_argument("--table-only", action="store_true", help="train nothing; tabulate the finished runs")
    parser.add_argument("--from-json", metavar="STUDY_JSON",
                        help="train nothing; re-analyse a study.json written by this tool (per-seed values kept there)")
    return parser


def default_losses() -> list[str]:
    from hl_detect.losses import LOSSES

    return [name for name in PAPER_ORDER if name in LOSSES] + sorted(set(LOSSES) - set(PAPER_ORDER))


def arm_overrides(args: argparse.Namespace, arm: Arm, seed: int, run_dir: Path) -> list[str]:
    return config_overrides(args) + [f"{k}={v}" for k, v in arm.overrides.items()] + [
        f"loss={arm.loss}", f"seed={seed}", f"output_dir={run_dir}"]


def run_config(args: argparse.Namespace, arm: Arm, seed: int, run_dir: Path) -> dict:
    """The run's config, checked; a run that resumes needs no --weights file (its checkpoint
    holds the weights), a fresh one does."""
    paths = [dataset_config_path(args.dataset), *args.config]
    return check_names(load_config(paths, arm_overrides(args, arm, seed, run_dir)),
                       read_weights=_resume_path(run_dir) is None)


def pending_jobs(args, arms: list[Arm], out_dir: Path) -> list[tuple[Arm, int, Path]]:
    """(arm, seed, run folder) still to train, seed-major so partial results are paired."""
    jobs = []
    for seed in args.seeds:
        for arm in arms:
            run_dir = run_folder(out_dir, arm, seed)
            if (run_dir / "metrics.json").is_file():
                print(f"[compare] {arm.label} seed {seed}: done before ({run_dir}), not rerun")
                continue
            run_config(args, arm, seed, run_dir)  # a bad key fails now, not an hour into the study
            jobs.append((arm, seed, run_dir))
    return jobs


def _resume_path(run_dir: Path) -> str | None:
    """The run's checkpoint when an earlier try of it stopped mid-way, else None."""
    from hl_detect.engine import CHECKPOINT

    resume = run_dir / CHECKPOINT
    return str(resume) if resume.is_file() else None


def _starting(run_dir: Path, resume: str | None) -> str:
    return ("resuming" if resume else "training") + f" in {run_dir}"


def _say(line: str) -> None:
    print(f"[compare] {line}", flush=True)


def run_in_process(args, jobs) -> None:
    import torch

    from hl_detect.run.train import run_training

    if args.threads:
        torch.set_num_threads(args.threads)
    for arm, seed, run_dir in jobs:
        resume = _resume_path(run_dir)
        _say(f"{arm.label} seed {seed}: {_starting(run_dir, resume)}")
        run_training(run_config(args, arm, seed, run_dir), resume=resume, progress=not args.no_progress)


def run_subprocesses(args, jobs) -> list[str]:
    """Train ``args.parallel`` jobs at a time, each a train_det.py process
    (hl_detect/studies/parallel_runs.py); returns the runs that failed. A run writes what it
    prints into its train.log itself, so only its stderr (warnings, a crash's traceback, an
    error before its folder is ready) goes to stderr.log beside it."""
    threads = str(args.threads or 1)
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    runs = []
    for arm, seed, run_dir in jobs:
        resume = _resume_path(run_dir)
        cmd = [sys.executable, str(TRAIN_TOOL), "--dataset", args.dataset, "--no-progress"]
        for path in args.config:
            cmd += ["--config", path]
        for override in arm_overrides(args, arm, seed, run_dir):
            cmd += ["--set", override]
        if resume:
            cmd += ["--resume", resume]
        runs.append(Job(f"{arm.label} seed {seed}", cmd, run_dir / STDERR_LOG, _starting(run_dir, resume),
                        log_stdout=False, also_see=run_dir / "train.log"))
    return run_side_by_side(runs, args.parallel, env, say=_say)


def collect(finals: dict[Arm, dict[int, dict]], ap_metric: str) -> dict:
    """{arm label: aggregate_runs(...)} over the finished runs (metrics.json "final" of each seed)."""
    from hl_detect.evaluation import aggregate_runs

    return {arm.label: aggregate_runs([f[s] for s in sorted(f)], metrics=(ap_metric, "box_accuracy"))
            for arm, f in finals.items() if f}


def format_comparison(table: dict, ap_metric: str, markdown: bool = False) -> str:
    """Rows = arms; AP@0.5 and accuracy as best / mean / std (%), n = seeds that finished."""
    header = ["Method", "AP50 best", "AP50 mean", "AP50 std", "Acc best", "Acc mean", "Acc std", "n"]
    rows = []
    for loss, agg in table.items():
        row = [loss]
        for metric in (ap_metric, "box_accuracy"):
            a = agg.get(metric)
            row += ["-"] * 3 if a is None else [percent(a["best"]), percent(a["mean"]), percent(a["std"])]
        row.append(str(max((a["n"] for a in agg.values()), default=0)))
        rows.append(row)
    return tables.table(header, rows, markdown)


def main(args: argparse.Namespace) -> dict:
    if args.loss:
        raise SystemExit("compare_losses takes --losses ARM [ARM ...], not --loss")
    if args.seed is not None:  # the shared training flags include --seed; a study runs a list of them
        raise SystemExit(f"compare_losses takes --seeds K [K ...], not --seed: --seeds {args.seed} for that one seed")
    for spec in args.losses or []:  # a mistyped loss: a suggestion, before the arms are parsed
        check_loss_name(spec.split("[", 1)[0].strip())
    out_dir = Path(args.output_dir or f"runs/compare_{Path(args.dataset).stem}")
    baseline = parse_arm(args.baseline) if args.baseline else None
    failed = []
    if args.from_json:
        finals = finals_from_study_json(Path(args.from_json))
        if args.losses:
            wanted = {parse_arm(a) for a in args.losses}
            finals = {arm: f for arm, f in finals.items() if arm in wanted}
        seeds = sorted({s for f in finals.values() for s in f})
        base = finals_from_study_json(Path(args.from_json)).get(baseline, {}) if baseline is not None else {}
        if baseline is not None and not base:
            raise SystemExit(f"[compare] {args.from_json} has no arm {baseline.label!r} to compare with")
    else:
        arms = expand_sweeps([parse_arm(a) for a in (args.losses or default_losses())], [parse_sweep(s) for s in args.sweep])
        seeds = args.seeds
        if not args.table_only:
            jobs = pending_jobs(args, arms, out_dir)
            if args.parallel > 1:
                failed = run_subprocesses(args, jobs)
            else:
                run_in_process(args, jobs)
        finals = {arm: load_finals(out_dir, arm, seeds) for arm in arms}
        base = load_finals(out_dir, baseline, seeds) if baseline is not None else {}
    ap_metric = AP_METRIC[args.ap]
    table = collect(finals, ap_metric)
    text = format_comparison(table, ap_metric)
    title = f"{args.dataset} | seeds {seeds} | AP@0.5 ({args.ap}) and box accuracy, % (std: sample, ddof 1)"
    print(f"\n{title}\n{text}")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "comparison.txt").write_text(f"{title}\n{text}\n")
    (out_dir / "comparison.md").write_text(format_comparison(table, ap_metric, markdown=True) + "\n")
    (out_dir / "comparison.json").write_text(json.dumps({"ap_metric": ap_metric, "seeds": seeds, "table": table}, indent=1))

    results = results_from_finals(finals, base, baseline, claim_seeds=args.claim_seeds)
    study = format_study(results, baseline)
    print(f"\nmean ± 95 % CI over seeds; Δ = paired difference to {args.baseline} on common seeds; p: paired t-test, "
          f"Holm-corrected over the arms; verdict on box accuracy (primary) from {args.claim_seeds} paired seeds: "
          f"equivalence = TOST within ±2 points\n"
          + format_study(results, baseline, markdown=False))
    (out_dir / "study.md").write_text(study + "\n")
    (out_dir / "study.json").write_text(json.dumps(results_json(results, baseline, args.claim_seeds), indent=1))
    for key in args.plot:
        if key == "grad_ratio":  # every HL arm placed by its measured strength
            path = plot_by_grad_ratio(results, out_dir / "strength.png",
                                      title=f"{args.dataset}: paired difference to {args.baseline} against HL strength")
            print(f"[compare] plot {path}" if path else "[compare] no HL arm with a grad ratio to plot")
            continue
        refs = [r for r in results if r.arm.option(key) is None]
        path = plot_sweep(results, key, out_dir / f"sweep_{key.rsplit('.', 1)[-1]}.png", references=refs,
                          title=f"{args.dataset}: mean ± 95 % CI over seeds {seeds}")
        if path:
            print(f"[compare] plot {path}")
    if failed:
        raise SystemExit(f"[compare] {len(failed)} run(s) failed: {', '.join(failed)}")
    return table


if __name__ == "__main__":
    main_guard(main, get_args_parser().parse_args())
