"""``evaluate_checkpoint``: a trained model on a split, the job behind ``hl-eval`` (tools/eval_det.py).

The dataset's categories are matched to the model's by COCO category id (by name for VOC); a
category the model lacks stops the evaluation before it starts, unless
``ignore_unknown_categories`` (its objects are then left out and counted). Writes
<output_dir>/eval_<split>.csv and .json (default: the run folder). With ``sweep``, the
validation set (a split, or files: val_set.py) is evaluated too, with the same category
checks, the checkout thresholds are chosen there and reported on the test split, and
<output_dir>/checkout_thresholds.json is written for predict.

Everything it prints goes through ``say``, so a caller that evaluates many checkpoints
(checkout/curve.py's tool) keeps each log apart without redirecting stdout.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Callable, Optional

from ..atomic_files import write_text_atomic
from .phase_timer import PhaseTimer, timing_block


@dataclass
class EvalOptions:
    """What to evaluate and how; the names are hl-eval's flags (``--max-images`` -> max_images)."""

    checkpoint: str
    """checkpoint file or run folder"""
    split: Optional[str] = None
    """dataset split (default: the run's data.test.split)"""
    data_root: Optional[str] = None
    ann_file: Optional[str] = None
    img_dir: Optional[str] = None
    ignore_unknown_categories: bool = False
    device: str = "auto"
    batch_size: int = 4
    workers: int = 2
    max_images: Optional[int] = None
    max_bad_images: Optional[float] = None
    """a count, or a fraction below 1 (default: the run's data.max_bad_images)"""
    checkout: bool = False
    checkout_threshold: Optional[float] = None
    count_rule: Optional[str] = None
    agnostic_iou: Optional[float] = None
    sweep: bool = False
    val_split: Optional[str] = None
    val_ann_file: Optional[str] = None
    val_img_dir: Optional[str] = None
    oracle_sweep: bool = False
    output_dir: Optional[str] = None
    save_results: Optional[str] = None
    """write the split's detections here as a COCO results JSON (evaluation/coco_results.py)"""
    no_progress: bool = False
    print_freq: Optional[int] = None
    """batches between progress lines off a terminal (default: about ten per pass)"""
    deterministic: bool = False
    """deterministic kernels only for the passes (torchvision's --use-deterministic-algorithms)"""

    @classmethod
    def from_args(cls, args) -> "EvalOptions":
        """From an argparse namespace (or any object) that has these names; others are ignored."""
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)})


def _pass(model, cfg, dataset, split, opts: EvalOptions, device, evaluator, levels_of=None, say=print):
    """One evaluation pass over ``dataset`` (``split``); returns the result, ``evaluator`` keeps the
    detections. Unreadable images are left out and counted; the report says "N of M images"."""
    from torch.utils.data import DataLoader

    from ..data import collate_fn
    from ..data.bad_images import BadImageTracker, SkipBadImages
    from ..engine import evaluate

    if levels_of is not None:
        evaluator.image_levels = levels_of(dataset)
    limit = cfg["data"].get("max_bad_images") if opts.max_bad_images is None else opts.max_bad_images
    tracker = BadImageTracker(split, dataset, limit, say=say)  # past the limit: a clear error, not a partial score
    loader = tracker.wrap(DataLoader(SkipBadImages(dataset, refill=False), batch_size=opts.batch_size,
                                     num_workers=opts.workers, collate_fn=collate_fn))
    result, _ = evaluate(model, loader, evaluator, device, max_images=opts.max_images, progress=not opts.no_progress,
                         say=say, print_freq=opts.print_freq)
    if dataset.ignored_categories:
        result["ignored_categories"] = dataset.ignored_categories  # category -> objects left out
    return result


def _dataset(cfg, split, which, categories, opts: EvalOptions, say, options=None):
    """A split labelled by the model's categories: one the model lacks fails here, before any pass."""
    from ..data.splits import build_eval_dataset, describe_split

    options = dict(options or {})
    if opts.ignore_unknown_categories:
        options["ignore_unknown_categories"] = True
    dataset = build_eval_dataset(cfg, split, categories=categories, which=which, **options)
    line = describe_split(split, dataset)
    if line:
        say(line)
    if dataset.ignored_categories:
        say(f"[eval] left out as asked: {sum(dataset.ignored_categories.values())} objects of "
            f"{len(dataset.ignored_categories)} categories the model lacks: "
            + ", ".join(f"{c} ({n})" for c, n in dataset.ignored_categories.items()))
    return dataset


def _save_results(path, evaluator, categories, dataset, say) -> None:
    """The pass's detections (original pixels, every rank's) as a COCO results file."""
    from ..evaluation.coco_results import coco_results, label_to_category_id, write_coco_results

    dets = evaluator.checkout_data().dets
    results, left_out = coco_results(dets.images, dets.labels, dets.scores, dets.boxes,
                                     label_to_category_id(categories, dataset))
    write_coco_results(path, results)
    say(f"[eval] {len(results)} detections -> {path} (COCO results: image and category ids of the dataset)"
        + (f"; {left_out} detections of classes the annotation file does not list left out" if left_out else ""))


def evaluate_checkpoint(opts: EvalOptions, say: Callable[[str], None] = print) -> dict:
    """Evaluate ``opts.checkpoint`` as ``opts`` says; returns the result dict it also writes."""
    from ..checkout.settings import check_unit_interval
    from ..evaluation.coco_results import check_results_path
    from .load import load_run, select_device
    from .val_set import check_given_files

    check_unit_interval(checkout_threshold=opts.checkout_threshold, agnostic_iou=opts.agnostic_iou)  # before any loading
    if opts.save_results:
        check_results_path(opts.save_results)
    check_given_files(opts)  # a mistyped path: now, not after the checkpoint loaded (or failed to)
    timer = PhaseTimer()
    device = select_device(opts.device)
    with timer.phase("loading"):
        model, cfg, categories = load_run(opts.checkpoint, device)
    return evaluate_model(model, cfg, categories, device, opts, say, timer)


def evaluate_model(model, cfg: dict, categories: list, device, opts: EvalOptions,
                   say: Callable[[str], None] = print, timer: Optional[PhaseTimer] = None) -> dict:
    """Evaluate ``model`` (labelled by ``categories``, built as ``cfg`` says) as ``opts`` says;
    the report goes to ``opts.output_dir``, else to the folder of ``opts.checkpoint``.

    Where the time went (``timer``'s phases: loading, data, evaluation, validation, sweep,
    report) ends the log as a ``[time]`` block and is in the report under ``timing``. With
    ``opts.deterministic`` the passes use deterministic kernels only; the report's
    ``deterministic_algorithms`` says whether they did."""
    from ..engine.reproducibility import reproducible

    with reproducible(deterministic=opts.deterministic):
        return _evaluate_model(model, cfg, categories, device, opts, say, timer)


def _evaluate_model(model, cfg: dict, categories: list, device, opts: EvalOptions, say, timer) -> dict:
    import torch

    from ..checkout.selection import select_on_val
    from ..checkout.products import till_categories
    from ..checkout.settings import check_unit_interval, checkout_settings, image_levels
    from ..checkout.thresholds_file import THRESHOLDS_FILE, thresholds_record
    from ..data.splits import split_config
    from ..evaluation import format_table, save_report
    from ..evaluation.evaluator import jsonable
    from ..evaluation.coco_results import check_results_path
    from ..evaluation.report import images_note
    from .evaluate import build_evaluator
    from .val_set import check_val_images, file_options, val_set

    check_unit_interval(checkout_threshold=opts.checkout_threshold, agnostic_iou=opts.agnostic_iou)  # other callers
    if opts.save_results:
        check_results_path(opts.save_results)
    class_names = [c["name"] for c in categories]
    if opts.data_root:
        cfg["data"]["root"] = opts.data_root
    split = opts.split or split_config(cfg["data"], "test")["split"]
    checkout = opts.checkout or opts.sweep or opts.oracle_sweep or cfg.get("eval_checkout", False)
    timer = timer or PhaseTimer()
    test_files = file_options(cfg, "test", opts.ann_file, opts.img_dir)  # a missing file: before any pass
    val = val_set(cfg, opts, split)
    # both datasets before any pass: a category the model lacks stops here, in either
    with timer.phase("data"):
        dataset = _dataset(cfg, split, "test", categories, opts, say, test_files)
        val_dataset = _dataset(cfg, val.split, "val", categories, opts, say, val.options) if val else None
        if val_dataset is not None:
            check_val_images(cfg, val_dataset, dataset, say)
    counting = checkout_settings(cfg, opts.checkout_threshold, opts.count_rule, opts.agnostic_iou)
    options = dict(checkout=checkout, checkout_threshold=counting.threshold, checkout_count_rule=counting.count_rule,
                   checkout_agnostic_iou=counting.agnostic_iou)
    evaluator = build_evaluator(cfg, class_names, checkout_oracle_sweep=opts.oracle_sweep, **options)
    with timer.phase("evaluation"):
        result = _pass(model, cfg, dataset, split, opts, device, evaluator, image_levels, say)
    if opts.save_results:
        with timer.phase("report"):
            _save_results(opts.save_results, evaluator, categories, dataset, say)
    run_dir = Path(opts.checkpoint) if Path(opts.checkpoint).is_dir() else Path(opts.checkpoint).parent
    out_dir = Path(opts.output_dir) if opts.output_dir else run_dir
    if checkout:
        result["checkout"]["threshold_source"] = counting.source
    if val:
        val_evaluator = build_evaluator(cfg, class_names, **{**options, "coco": False})
        with timer.phase("validation"):
            _pass(model, cfg, val_dataset, val.split, opts, device, val_evaluator, say=say)
        with timer.phase("sweep"):  # the thresholds chosen on val, reported on the test split
            selection = select_on_val(val_evaluator.checkout_data(), evaluator.checkout_data(), len(class_names),
                                      fixed_threshold=counting.threshold, fixed_source=counting.source,
                                      agnostic_iou=counting.agnostic_iou, test_levels=evaluator.image_levels)
        selection.update(chosen_on=val.describe(), reported_on=f"split {split!r}")
        result["checkout"]["selection"] = jsonable(selection)
        out_dir.mkdir(parents=True, exist_ok=True)
        record = thresholds_record(result["checkout"]["selection"], counting.count_rule, val.name,
                                   till_categories(categories))
        write_text_atomic(out_dir / THRESHOLDS_FILE, json.dumps(record, indent=1))
    result["deterministic_algorithms"] = torch.are_deterministic_algorithms_enabled()
    with timer.phase("report"):
        say(format_table(result))
    # read before the report's own write (milliseconds), so the file can carry it
    timing = timer.breakdown(timer.elapsed())
    result["timing"] = {"seconds": timing, "covers": "this evaluation"}
    save_report(result, out_dir, name=f"eval_{split}")
    say(f"[eval] {split}: report written to {out_dir / f'eval_{split}.csv'} and .json" + images_note(result, "; "))
    if val:
        say(f"[eval] thresholds chosen on {val.name} ({counting.count_rule} rule) -> {out_dir / THRESHOLDS_FILE} "
            f"(predict.py --thresholds)")
    say(timing_block(timing, "where the time went"))
    return result
