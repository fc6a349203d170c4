#!/usr/bin/env python
"""Evaluate a checkpoint on a split: AP@0.5 (VOC07 11-point and area), COCO AP, box accuracy.

    python tools/eval_det.py runs/demo_hl_tiny_seed0                    # the run's test split
    python tools/eval_det.py runs/voc0712_hl_c4_seed0/checkpoint.pt --split voc07_test
    python tools/eval_det.py RUN --checkout --sweep                     # + RPC checkout metrics
    python tools/eval_det.py RUN --ann-file other_test.json --img-dir images/ --ignore-unknown-categories

The dataset's categories are matched to the model's by COCO category id (by name for VOC);
a category the model lacks stops the evaluation before it starts, naming the file and the
categories, unless --ignore-unknown-categories (its objects are then left out and counted).
Writes <output-dir>/eval_<split>.csv and .json (default output-dir: the run folder).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hl_detect.cli import add_debug_argument, help_layout  # noqa: E402
from hl_detect.errors import main_guard  # noqa: E402


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(**help_layout(__doc__), add_help=add_help)
    parser.add_argument("checkpoint", help="checkpoint file or run folder")
    parser.add_argument("--split", help="dataset split (default: the run's data.test.split)")
    parser.add_argument("--data-root", help="dataset root, if it moved since training")
    parser.add_argument("--ann-file", help="COCO/RPC: evaluate on this annotation JSON (data.test.options.ann_file)")
    parser.add_argument("--img-dir", help="COCO/RPC: the folder its file_names are relative to")
    parser.add_argument("--ignore-unknown-categories", action="store_true",
                        help="leave out (and count) objects of categories the model lacks instead of stopping")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-images", type=int)
    parser.add_argument("--max-bad-images", type=float, default=None,
                        help="unusable images (missing, unreadable) allowed before stopping: a count, or a fraction "
                             "below 1 (default: the run's data.max_bad_images, 1 %% of the split); the report then "
                             "says 'scored on N of M images'")
    parser.add_argument("--checkout", action="store_true", help="also the RPC checkout metrics")
    parser.add_argument("--checkout-threshold", type=float, default=None,
                        help="score at which a detection counts as an item (default: the run's checkout_threshold)")
    parser.add_argument("--sweep", action="store_true", help="sweep the checkout score threshold, print the best")
    parser.add_argument("--output-dir", help="where to write the report (default: the run folder)")
    parser.add_argument("--no-progress", action="store_true")
    add_debug_argument(parser)
    return parser


def main(args: argparse.Namespace) -> dict:
    from torch.utils.data import DataLoader

    from hl_detect.data import collate_fn
    from hl_detect.data.bad_images import BadImageTracker, SkipBadImages
    from hl_detect.data.splits import build_eval_dataset, describe_split, split_config
    from hl_detect.engine import evaluate
    from hl_detect.evaluation import format_table, save_report
    from hl_detect.evaluation.report import images_note
    from hl_detect.runner import build_evaluator, load_run, select_device

    device = select_device(args.device)
    model, cfg, categories = load_run(args.checkpoint, device)
    class_names = [c["name"] for c in categories]
    if args.data_root:
        cfg["data"]["root"] = args.data_root
    split = args.split or split_config(cfg["data"], "test")["split"]
    options = {k: v for k, v in (("ann_file", args.ann_file), ("img_dir", args.img_dir)) if v}
    if args.ignore_unknown_categories:
        options["ignore_unknown_categories"] = True
    # labels follow the model's categories; one it lacks fails here, before the pass
    dataset = build_eval_dataset(cfg, split, categories=categories, **options)
    print(describe_split(split, dataset))
    if dataset.ignored_categories:
        print(f"[eval] left out as asked: {sum(dataset.ignored_categories.values())} objects of "
              f"{len(dataset.ignored_categories)} categories the model lacks: "
              + ", ".join(f"{c} ({n})" for c, n in dataset.ignored_categories.items()))
    limit = cfg["data"].get("max_bad_images") if args.max_bad_images is None else args.max_bad_images
    tracker = BadImageTracker(split, dataset, limit)
    loader = tracker.wrap(DataLoader(SkipBadImages(dataset, refill=False), batch_size=args.batch_size,
                                     num_workers=args.workers, collate_fn=collate_fn))
    checkout = args.checkout or cfg.get("eval_checkout", False)
    threshold = args.checkout_threshold if args.checkout_threshold is not None else cfg.get("checkout_threshold", 0.5)
    evaluator = build_evaluator(cfg, class_names, checkout=checkout, checkout_threshold=threshold,
                                checkout_sweep=args.sweep)
    result, _ = evaluate(model, loader, evaluator, device, max_images=args.max_images, progress=not args.no_progress)
    if dataset.ignored_categories:
        result["ignored_categories"] = dataset.ignored_categories  # category -> objects left out
    run_dir = Path(args.checkpoint) if Path(args.checkpoint).is_dir() else Path(args.checkpoint).parent
    out_dir = Path(args.output_dir) if args.output_dir else run_dir
    print(format_table(result))
    save_report(result, out_dir, name=f"eval_{split}")
    print(f"[eval] {split}: report written to {out_dir / f'eval_{split}.csv'} and .json" + images_note(result, "; "))
    return result


if __name__ == "__main__":
    main_guard(main, get_args_parser().parse_args())
