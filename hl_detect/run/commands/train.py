"""Train a torchvision detector with the hypersphere loss and report AP@0.5 / box accuracy.

    python tools/train_det.py                          # the demo: embedded dataset, CPU, about 5 min
    python tools/train_det.py --dataset voc0712        # Pascal VOC 07+12 -> VOC2007 test (Table VIII)
    python tools/train_det.py --dataset rpc --loss softmax --head c4
    torchrun --nproc_per_node=8 tools/train_det.py --dataset voc0712 --amp
    python tools/train_det.py --resume runs/demo_cosface_tiny_seed0         # exact, after Ctrl-C or kill -9
    python tools/train_det.py --overwrite                           # start the demo over in its old folder
    python tools/train_det.py --deterministic --threads 2 --set checkpoint_every_minutes=5
    python tools/train_det.py --dataset voc0712 --model fasterrcnn_resnet50_fpn --weights COCO_V1  # fine-tune COCO's
    python tools/train_det.py --resume runs/demo_cosface_tiny_seed0 --test-only                       # evaluate, no training

Any config key can be overridden: ``--set lr=2e-4 --set loss_options.hl.weight=0.01``.
torchvision's references/detection/train.py flags work too (--data-path, --model, -b, -j,
--print-freq, --weights, --weights-backbone, --test-only, --use-deterministic-algorithms).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..cli import add_config_arguments, config_from_args, help_layout, run_dir_of
from ...errors import ConfigError, MissingFileError, main_guard


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(**help_layout(__doc__), add_help=add_help)
    add_config_arguments(parser)
    parser.add_argument("--output-dir", help="run folder (default runs/<dataset>_<loss>_<head>_seed<seed>)")
    parser.add_argument("--resume", help="run folder or checkpoint file to continue from (with the checkpoint's config)")
    parser.add_argument("--overwrite", action="store_true",
                        help="start fresh in a run folder that holds a run: deletes its checkpoint, config.yaml, "
                             "metrics.json, eval.*, train.log, its pictures, tb/ first")
    parser.add_argument("--allow-config-change", action="store_true",
                        help="let --resume train on with config values other than the checkpoint's "
                             "(listed; the resume is then recorded as not exact)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (a bit-identical rerun needs the same count)")
    parser.add_argument("--test-only", action="store_true",
                        help="evaluate the model of --resume (as eval_det.py does) or of --weights and exit, no training")
    return parser


def main(args: argparse.Namespace) -> dict:
    from ..train import run_training

    if args.resume and not Path(args.resume).exists():  # say so before the data loads
        raise MissingFileError(f"--resume {args.resume}: no such run folder or checkpoint",
                               hint="give the folder of an interrupted run (it holds checkpoint.pt), e.g. --resume runs/demo_cosface_tiny_seed0")
    if args.test_only:
        from ..test_only import run_test_only

        return run_test_only(args)
    if args.resume and args.overwrite:
        raise ConfigError("--resume continues the run in the folder, --overwrite deletes it: give one of them",
                          hint="--resume RUN to continue it, or --overwrite (without --resume) to start over")
    if args.resume and not args.config:
        # resuming: start from the config the checkpoint was trained with (config.yaml may have
        # been edited since); flags and --set still apply, and run_training checks them
        cfg = resumed_config(args)
    else:
        cfg = config_from_args(args, resuming=bool(args.resume))
    if args.output_dir:
        cfg["output_dir"] = args.output_dir
    elif args.resume:
        cfg["output_dir"] = str(run_dir_of(args.resume))
    return run_training(cfg, resume=args.resume, progress=not args.no_progress, overwrite=args.overwrite,
                        allow_config_change=args.allow_config_change)


def resumed_config(args: argparse.Namespace) -> dict:
    """The checkpoint's config with this command's flags over it (config.yaml when the
    checkpoint holds none, as an older hl_detect's may)."""
    import tempfile

    import yaml

    from ..resume_config import read_resume_source

    saved = read_resume_source(args.resume)["config"]
    if not saved:
        fallback = run_dir_of(args.resume) / "config.yaml"
        return config_from_args(args, [fallback] if fallback.is_file() else None, resuming=True)
    with tempfile.TemporaryDirectory() as folder:  # through the same loader as any config file
        path = Path(folder) / "checkpoint_config.yaml"
        path.write_text(yaml.safe_dump(saved, sort_keys=False))
        return config_from_args(args, [path], resuming=True)


def cli(argv=None) -> None:
    """The console script (a user error: two lines and exit status 2)."""
    main_guard(main, get_args_parser().parse_args(argv))
