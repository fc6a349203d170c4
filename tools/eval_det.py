#!/usr/bin/env python
"""Evaluate a checkpoint on a split: AP@0.5 (VOC07 11-point and area), COCO AP, box accuracy.

    python tools/eval_det.py runs/demo_hl_tiny_seed0                    # the run's test split
    python tools/eval_det.py runs/voc0712_hl_c4_seed0/checkpoint.pt --split voc07_test
    python tools/eval_det.py RUN --checkout --sweep                     # + checkout thresholds chosen on val
    python tools/eval_det.py RUN --checkout --count-rule agnostic --agnostic-iou 0.6
    python tools/eval_det.py RUN --ann-file other_test.json --img-dir images/ --ignore-unknown-categories

The dataset's categories are matched to the model's by COCO category id (by name for VOC);
a category the model lacks stops the evaluation before it starts, naming the file and the
categories, unless --ignore-unknown-categories (its objects are then left out and counted).
Writes <output-dir>/eval_<split>.csv and .json (default output-dir: the run folder).
--checkout adds the RPC checkout metrics (cAcc, ACD, mCCD, mCIoU; per level when the images
carry RPC's `level`) at the run's checkout_threshold and count rule. --sweep also evaluates
the validation split (data.val.split or --val-split), chooses the threshold there (and
per-class thresholds), reports those thresholds on the test split for both count rules side
by side, and writes <output-dir>/checkout_thresholds.json for predict.py --thresholds.
--oracle-sweep chooses on the test split itself; its line says "oracle (chosen on test)".
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hl_detect.cli import add_debug_argument, help_layout  # noqa: E402
from hl_detect.errors import ConfigError, main_guard  # noqa: E402
from hl_detect.evaluation.counting import COUNT_RULES  # noqa: E402


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
    parser.add_argument("--checkout-threshold", type=float, help="default: the run's checkout_threshold")
    parser.add_argument("--count-rule", choices=COUNT_RULES, help="default: the run's checkout_count_rule")
    parser.add_argument("--agnostic-iou", type=float, help="default: the run's checkout_agnostic_iou")
    parser.add_argument("--sweep", action="store_true",
                        help="choose the checkout threshold on the validation split, report it on this split")
    parser.add_argument("--val-split", help="split to choose thresholds on (default: the run's data.val.split)")
    parser.add_argument("--oracle-sweep", action="store_true",
                        help="also the best threshold chosen on this split itself (labelled oracle; not an estimate)")
    parser.add_argument("--output-dir", help="where to write the report (default: the run folder)")
    parser.add_argument("--no-progress", action="store_true")
    add_debug_argument(parser)
    return parser


def _pass(model, cfg, dataset, split, args, device, evaluator, levels_of=None):
    """One evaluation pass over ``dataset`` (``split``); returns the result, ``evaluator`` keeps the
    detections. Unreadable images are left out and counted; the report says "N of M images"."""
    from torch.utils.data import DataLoader

    from hl_detect.data import collate_fn
    from hl_detect.data.bad_images import BadImageTracker, SkipBadImages
    from hl_detect.engine import evaluate

    if levels_of is not None:
        evaluator.image_levels = levels_of(dataset)
    limit = cfg["data"].get("max_bad_images") if args.max_bad_images is None else args.max_bad_images
    tracker = BadImageTracker(split, dataset, limit)  # past the limit: a clear error, not a partial score
    loader = tracker.wrap(DataLoader(SkipBadImages(dataset, refill=False), batch_size=args.batch_size,
                                     num_workers=args.workers, collate_fn=collate_fn))
    result, _ = evaluate(model, loader, evaluator, device, max_images=args.max_images, progress=not args.no_progress)
    if dataset.ignored_categories:
        result["ignored_categories"] = dataset.ignored_categories  # category -> objects left out
    return result


def _dataset(cfg, split, which, categories, args, options=None):
    """A split labelled by the model's categories: one the model lacks fails here, before any pass."""
    from hl_detect.data.splits import build_eval_dataset, describe_split

    options = dict(options or {})
    if args.ignore_unknown_categories:
        options["ignore_unknown_categories"] = True
    dataset = build_eval_dataset(cfg, split, categories=categories, which=which, **options)
    line = describe_split(split, dataset)
    if line:
        print(line)
    if dataset.ignored_categories:
        print(f"[eval] left out as asked: {sum(dataset.ignored_categories.values())} objects of "
              f"{len(dataset.ignored_categories)} categories the model lacks: "
              + ", ".join(f"{c} ({n})" for c, n in dataset.ignored_categories.items()))
    return dataset


def _val_split(cfg, args, split):
    from hl_detect.checkout_settings import default_val_split

    val_split = args.val_split or default_val_split(cfg)
    if not val_split:
        raise ConfigError("--sweep chooses the checkout threshold on a validation split, and this run has none",
                          hint="set data.val.split in the config or pass --val-split NAME "
                               "(--oracle-sweep chooses on the test split, labelled as an oracle)")
    if val_split == split:
        raise ConfigError(f"the validation split {val_split!r} is the split being reported; choosing on it "
                          "would be tuning on test", hint="pass another --val-split, or use --oracle-sweep")
    return val_split


def _check_val_is_not_train(cfg, val_dataset) -> None:
    """Thresholds chosen on training images would be tuned on what the model fit: refuse."""
    from hl_detect.data import DatasetError
    from hl_detect.data.splits import build_split, check_disjoint
    from hl_detect.errors import UserError

    try:
        train = build_split(cfg, "train", train=False)
    except (DatasetError, UserError):  # the training data is not on this machine: nothing to compare
        print("[eval] the training split is not readable here, so val was not checked against it")
        return
    check_disjoint(train, val_dataset, bool(cfg["data"].get("allow_train_test_overlap", False)), which="val")


def main(args: argparse.Namespace) -> dict:
    import json

    from hl_detect.checkout_settings import THRESHOLDS_FILE, checkout_settings, image_levels, thresholds_record
    from hl_detect.data.splits import split_config
    from hl_detect.evaluation import format_table, save_report, select_on_val
    from hl_detect.evaluation.evaluator import jsonable
    from hl_detect.evaluation.report import images_note
    from hl_detect.runner import build_evaluator, load_run, select_device

    device = select_device(args.device)
    model, cfg, categories = load_run(args.checkpoint, device)
    class_names = [c["name"] for c in categories]
    if args.data_root:
        cfg["data"]["root"] = args.data_root
    split = args.split or split_config(cfg["data"], "test")["split"]
    checkout = args.checkout or args.sweep or args.oracle_sweep or cfg.get("eval_checkout", False)
    val_split = _val_split(cfg, args, split) if args.sweep else None  # fails before any pass
    # both datasets before any pass: a category the model lacks stops here
    options = {k: v for k, v in (("ann_file", args.ann_file), ("img_dir", args.img_dir)) if v}
    dataset = _dataset(cfg, split, "test", categories, args, options)
    val_dataset = _dataset(cfg, val_split, "val", categories, args) if val_split else None
    if val_dataset is not None:
        _check_val_is_not_train(cfg, val_dataset)
    counting = checkout_settings(cfg, args.checkout_threshold, args.count_rule, args.agnostic_iou)
    options = dict(checkout=checkout, checkout_threshold=counting.threshold, checkout_count_rule=counting.count_rule,
                   checkout_agnostic_iou=counting.agnostic_iou)
    evaluator = build_evaluator(cfg, class_names, checkout_oracle_sweep=args.oracle_sweep, **options)
    result = _pass(model, cfg, dataset, split, args, device, evaluator, image_levels)
    run_dir = Path(args.checkpoint) if Path(args.checkpoint).is_dir() else Path(args.checkpoint).parent
    out_dir = Path(args.output_dir) if args.output_dir else run_dir
    if checkout:
        result["checkout"]["threshold_source"] = counting.source
    if val_split:
        val_evaluator = build_evaluator(cfg, class_names, **{**options, "coco": False})
        _pass(model, cfg, val_dataset, val_split, args, device, val_evaluator)
        selection = select_on_val(val_evaluator.checkout_data(), evaluator.checkout_data(), len(class_names),
                                  fixed_threshold=counting.threshold, fixed_source=counting.source,
                                  agnostic_iou=counting.agnostic_iou, test_levels=evaluator.image_levels)
        selection.update(chosen_on=f"split {val_split!r}", reported_on=f"split {split!r}")
        result["checkout"]["selection"] = jsonable(selection)
        out_dir.mkdir(parents=True, exist_ok=True)
        record = thresholds_record(result["checkout"]["selection"], counting.count_rule, val_split)
        (out_dir / THRESHOLDS_FILE).write_text(json.dumps(record, indent=1))
    print(format_table(result))
    save_report(result, out_dir, name=f"eval_{split}")
    print(f"[eval] {split}: report written to {out_dir / f'eval_{split}.csv'} and .json" + images_note(result, "; "))
    if val_split:
        print(f"[eval] thresholds chosen on {val_split} ({counting.count_rule} rule) -> {out_dir / THRESHOLDS_FILE} "
              f"(predict.py --thresholds)")
    return result


if __name__ == "__main__":
    main_guard(main, get_args_parser().parse_args())
