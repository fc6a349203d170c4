"""``train_det --test-only``: evaluate a model and exit, without training (torchvision's reference flag).

With ``--resume RUN`` the model is that run's checkpoint, evaluated as ``eval_det.py RUN`` does
(the checkpoint's config and classes; --data-root, --device, -b, -j and --output-dir apply).
With ``--weights`` it is the model this command's config builds with those weights: the one a
fine-tuning run would start from. Its box predictor is new for the dataset's classes, so its
detections score at chance until trained: this checks the weights, the data and the pipeline,
not the weights' own accuracy on their own classes.

Nothing is trained and no checkpoint is written; the report (eval_<split>.csv and .json) goes
to --output-dir, else the run folder (of --resume, or the one training would use).
"""
from __future__ import annotations

import argparse

from ..errors import ConfigError
from .checkpoint_eval import EvalOptions, evaluate_checkpoint, evaluate_model


def run_test_only(args: argparse.Namespace) -> dict:
    if bool(args.resume) == bool(args.weights):
        raise ConfigError("--test-only evaluates the model of --resume RUN or of --weights W: give one of them",
                          hint="--test-only --resume runs/NAME (a trained run), or --test-only --model "
                               "fasterrcnn_mobilenet_v3_large_320_fpn --weights COCO_V1")
    if args.resume:
        opts = EvalOptions(checkpoint=args.resume, data_root=args.data_root, device=args.device or "auto",
                           output_dir=args.output_dir, no_progress=args.no_progress,
                           print_freq=getattr(args, "print_freq", None), deterministic=bool(getattr(args, "deterministic", False)),
                           **{k: v for k, v in (("batch_size", args.batch_size), ("workers", args.workers)) if v is not None})
        return evaluate_checkpoint(opts)
    return _evaluate_weights(args)


def _evaluate_weights(args: argparse.Namespace) -> dict:
    from ..data.splits import build_split
    from .cli import config_from_args
    from .load import build_model_from_config, select_device
    from .train import default_output_dir, seed_everything

    cfg = config_from_args(args)
    device = select_device(cfg["device"])
    seed_everything(cfg["seed"])  # the new box predictor's initial weights, as a training run's
    categories = build_split(cfg, "train", train=False).categories  # the classes training would learn
    model = build_model_from_config(cfg, len(categories)).to(device)
    opts = EvalOptions(checkpoint="", device=cfg["device"], batch_size=cfg["batch_size"], workers=cfg["data"]["workers"],
                       max_images=cfg["max_eval_images"], no_progress=args.no_progress,
                       print_freq=getattr(args, "print_freq", None), deterministic=bool(cfg.get("deterministic")),
                       output_dir=args.output_dir or cfg.get("output_dir") or default_output_dir(cfg))
    return evaluate_model(model, cfg, categories, device, opts)
