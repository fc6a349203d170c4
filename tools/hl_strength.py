#!/usr/bin/env python
"""HL/CE gradient ratio of every form of the hypersphere penalty at one trained model state.

    python tools/hl_strength.py runs/study_hl_long/softmax/seed0 --batches 30 --settle 10

Loads the run's model and training split, converts a copy of the model to each form (eq. 17's
square with both denominators, the authors' quartic at lambda 0.002 / 0.003, hl_authors_code),
lets its centers form over ``--settle`` training forwards (no weight update) and prints
||dL_HL/df|| / ||dL_CE/df|| at the box features over the remaining batches
(hl_detect/studies/strength.py). ``--output`` also writes the table as markdown + JSON.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hl_detect.errors import main_guard  # noqa: E402


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="a run folder or checkpoint.pt (its config and training split are used)")
    parser.add_argument("--batches", type=int, default=30, help="training batches in all (settle + measured)")
    parser.add_argument("--settle", type=int, default=10, help="forwards that only form the centers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--output", help="write <output>.md and <output>.json")
    return parser


def main(args: argparse.Namespace) -> None:
    import torch
    from torch.utils.data import DataLoader

    from hl_detect.data.collate import collate_fn
    from hl_detect.data.splits import build_datasets
    from hl_detect.run.load import load_run
    from hl_detect.studies.strength import FORMS, compare_strengths, format_strengths

    if args.threads:
        torch.set_num_threads(args.threads)
    model, cfg, _ = load_run(args.run, torch.device("cpu"))
    train_set, _ = build_datasets(cfg)
    loader = DataLoader(train_set, batch_size=cfg["batch_size"], shuffle=True, collate_fn=collate_fn,
                        generator=torch.Generator().manual_seed(args.seed))
    batches = []
    for images, targets in loader:
        batches.append((list(images), list(targets)))
        if len(batches) == args.batches:
            break
    rows = compare_strengths(model, batches, settle=args.settle, seed=args.seed)
    table = format_strengths(rows, reference=next(iter(FORMS)))
    print(f"{args.run}: {len(batches) - args.settle} measured batches of {cfg['batch_size']} after {args.settle} settling\n")
    print(table)
    if args.output:
        Path(args.output + ".md").write_text(f"`python tools/hl_strength.py {args.run} --batches {args.batches} "
                                             f"--settle {args.settle} --seed {args.seed}`\n\n{table}\n")
        Path(args.output + ".json").write_text(json.dumps(
            {"run": str(args.run), "settle": args.settle, "forms": [r.__dict__ for r in rows]}, indent=1))


if __name__ == "__main__":
    main_guard(main, get_args_parser().parse_args())
