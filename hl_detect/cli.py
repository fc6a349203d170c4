"""Command-line arguments shared by the tools that train (train_det, run_seeds, compare_losses).

A run's config = configs/<dataset>.yaml (+ --config files) + flag overrides + --set KEY=VALUE.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .config import dataset_config_path, load_config

# flag -> config key
_FLAG_KEYS = {
    "loss": "loss", "head": "model.head", "epochs": "epochs", "batch_size": "batch_size", "lr": "lr",
    "seed": "seed", "device": "device", "data_root": "data.root", "workers": "data.workers",
}


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="demo", help="config name in configs/ (demo, voc0712, rpc) or a YAML path")
    parser.add_argument("--config", action="append", default=[], help="extra YAML files merged after the dataset's")
    parser.add_argument("--loss", help="hl | softmax | cl | ccl | cosface | arcface | ...")
    parser.add_argument("--head", help="mlp2048 | c4 | mobilenet | tiny")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--device", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--amp", action="store_true", help="mixed precision (CUDA)")
    parser.add_argument("--data-root", help="dataset root (overrides data.root)")
    parser.add_argument("--workers", type=int, help="data loader processes")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (logs, CI)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override any config key, e.g. --set model.options.min_size=800")


def config_overrides(args: argparse.Namespace) -> list[str]:
    overrides = [f"{key}={getattr(args, flag)}" for flag, key in _FLAG_KEYS.items() if getattr(args, flag, None) is not None]
    if getattr(args, "amp", False):
        overrides.append("amp=true")
    return overrides + list(args.overrides)


def config_from_args(args: argparse.Namespace, base_paths: list | None = None) -> dict:
    paths = base_paths or [dataset_config_path(args.dataset), *args.config]
    return load_config(paths, config_overrides(args))


def run_dir_of(path: str) -> Path:
    """A run folder from a run folder or a checkpoint file inside it."""
    p = Path(path)
    return p if p.is_dir() else p.parent
