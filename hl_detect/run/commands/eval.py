"""Evaluate a checkpoint on a split: AP@0.5 (VOC07 11-point and area), COCO AP, box accuracy.

    python tools/eval_det.py runs/demo_cosface_tiny_seed0                       # the run's test split
    python tools/eval_det.py runs/voc0712_hl_c4_seed0/checkpoint.pt --split voc07_test
    python tools/eval_det.py RUN --checkout --sweep                     # + checkout thresholds chosen on val
    python tools/eval_det.py RUN --checkout --count-rule agnostic --agnostic-iou 0.6
    python tools/eval_det.py RUN --ann-file other_test.json --img-dir images/ --ignore-unknown-categories
    python tools/eval_det.py RUN --sweep --val-ann-file my_val.json --val-img-dir my_val_images/

The dataset's categories are matched to the model's by COCO category id (by name for VOC);
a category the model lacks stops the evaluation before it starts, naming the file and the
categories, unless --ignore-unknown-categories (its objects are then left out and counted).
Writes <output-dir>/eval_<split>.csv and .json (default output-dir: the run folder).
--checkout adds the RPC checkout metrics (cAcc, ACD, mCCD, mCIoU; per level when the images
carry RPC's `level`) at the run's checkout_threshold and count rule. --sweep also evaluates
the validation split (data.val.split or --val-split; or one's own --val-ann-file and
--val-img-dir, checked against the model's categories as the test split is), chooses the
threshold there (and per-class thresholds, keyed by category), reports those thresholds on
the test split for both count rules side by side, and writes
<output-dir>/checkout_thresholds.json for predict.py --thresholds.
--oracle-sweep chooses on the test split itself; its line says "oracle (chosen on test)".
Ends with where the time went ([time] lines: loading, data, evaluation, validation, sweep,
report), also under "timing" in the JSON report.
--save-results PATH writes every detection of the split as a COCO results JSON
([{image_id, category_id, bbox: [x, y, w, h], score}], original pixels) with the dataset's
image and category ids, for pycocotools' loadRes and other tools (docs/deploy.md).
"""
from __future__ import annotations

import argparse

from ..cli import add_debug_argument, help_layout
from ...errors import main_guard
from ...checkout.counting import COUNT_RULES
from ..checkpoint_eval import EvalOptions, evaluate_checkpoint


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(**help_layout(__doc__), add_help=add_help)
    parser.add_argument("checkpoint", help="checkpoint file or run folder")
    parser.add_argument("--split", help="dataset split (default: the run's data.test.split)")
    parser.add_argument("--data-root", "--data-path", dest="data_root", help="dataset root, if it moved since training")
    parser.add_argument("--ann-file", help="COCO/RPC: evaluate on this annotation JSON (data.test.options.ann_file)")
    parser.add_argument("--img-dir", help="COCO/RPC: the folder its file_names are relative to")
    parser.add_argument("--ignore-unknown-categories", action="store_true",
                        help="leave out (and count) objects of categories the model lacks instead of stopping")
    parser.add_argument("--device", default="auto")
    parser.add_argument("-b", "--batch-size", type=int, default=4)
    parser.add_argument("-j", "--workers", type=int, default=2)
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
    parser.add_argument("--val-ann-file", help="COCO/RPC: choose thresholds on this annotation JSON instead")
    parser.add_argument("--val-img-dir", help="COCO/RPC: the folder the val JSON's file_names are relative to")
    parser.add_argument("--oracle-sweep", action="store_true",
                        help="also the best threshold chosen on this split itself (labelled oracle; not an estimate)")
    parser.add_argument("--output-dir", help="where to write the report (default: the run folder)")
    parser.add_argument("--save-results", metavar="PATH",
                        help="also write the split's detections as a COCO results JSON (docs/deploy.md: which ids)")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--print-freq", type=int, metavar="BATCHES",
                        help="batches between progress lines when the log is not a terminal (default: ten per pass)")
    parser.add_argument("--use-deterministic-algorithms", "--deterministic", dest="deterministic", action="store_true",
                        help="deterministic kernels only (torch.use_deterministic_algorithms) for the passes")
    add_debug_argument(parser)
    return parser


def main(args: argparse.Namespace) -> dict:
    return evaluate_checkpoint(EvalOptions.from_args(args))


def cli(argv=None) -> None:
    """The console script (a user error: two lines and exit status 2)."""
    main_guard(main, get_args_parser().parse_args(argv))
