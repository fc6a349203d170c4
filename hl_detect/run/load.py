"""A detector from a run config or a run folder, on the device a run asks for.

``build_model_from_config`` is what training builds; ``load_run`` rebuilds it from a
checkpoint (eval, predict, checkout tools) with the class names and categories it stored.
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import torch

from ..data.categories import checkpoint_categories
from ..engine import CHECKPOINT, load_checkpoint
from ..engine.checkpoint_upgrade import upgrade_checkpoint
from ..errors import CheckpointError, ConfigError, as_user_error
from ..losses import LOSSES, loss_parts
from ..models import build_detector


def select_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but CUDA is not available", hint="use --device cpu (or auto)")
    if device.type == "cuda" and device.index is None:
        device = torch.device(f"cuda:{local_rank}")
    return device


def build_model_from_config(cfg: dict, num_classes: int, warmup_steps: int = 0,
                            read_weights: bool = True) -> torch.nn.Module:
    """The detector of ``cfg`` for C = ``num_classes`` foreground classes.

    ``read_weights=False`` (a resume, ``load_run``) builds the model that the whole-detector and
    ImageNet backbone weights give, for the same modules, frozen BatchNorm, trainable layers and
    BatchNorm eps, without reading (or needing) their files: the checkpoint holds every tensor."""
    model_cfg = cfg["model"]
    try:
        return build_detector(
            model_cfg["head"], num_classes=num_classes + 1, loss=cfg["loss"], loss_kwargs=loss_kwargs(cfg, warmup_steps),
            weights_backbone=model_cfg.get("weights_backbone"),
            trainable_backbone_layers=model_cfg.get("trainable_backbone_layers"),
            # .get: a checkpoint's config may predate it; unread weights still choose the architecture
            weights=model_cfg.get("weights"),
            read_weights=read_weights,
            **(model_cfg.get("options") or {}),
        )
    except ValueError as error:  # a loss hyperparameter out of range (losses check their own): a user error
        if not str(error).startswith("hypersphere loss:"):
            raise
        from .loss_options_check import options_owner

        raise ConfigError(f"loss_options.{options_owner(cfg, error)}: {error}",
                          hint="fix the value in the config or the --set override") from error


def loss_kwargs(cfg: dict, warmup_steps: int) -> dict[str, Any]:
    """The chosen loss's ``loss_options`` (+ the warm start in steps where it takes one).

    A composed loss (``cosface+hl``) gets one dict per part, from each part's options."""
    parts = loss_parts(cfg["loss"])
    per_part = {}
    for name in parts:
        kwargs = dict((cfg.get("loss_options") or {}).get(name) or {})
        builder = LOSSES[name]
        target = builder.__init__ if inspect.isclass(builder) else builder
        if "warmup_steps" in inspect.signature(target).parameters and "warmup_steps" not in kwargs:
            kwargs["warmup_steps"] = warmup_steps
        per_part[name] = kwargs
    return per_part[parts[0]] if len(parts) == 1 else per_part


def load_run(path, device: torch.device):
    """(model in eval mode, the run's config, its categories in label order: dicts with id,
    name, supercategory; hl_detect/data/categories.py). A checkpoint from before categories
    were stored gives names only (id None), which evaluation then matches by name."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    ckpt = upgrade_checkpoint(load_checkpoint(path, map_location=device))
    cfg = ckpt["config"]
    class_names = ckpt.get("class_names")
    if not class_names:
        raise CheckpointError(f"{path}: the checkpoint has no class_names; was it written by hl_detect?")
    categories = checkpoint_categories(ckpt)
    # read_weights=False: a --weights or --weights-backbone run is rebuilt as it trained (frozen
    # BatchNorm, the weights' eps: 0 for fasterrcnn_resnet50_fpn COCO_V1), without their files.
    model = build_model_from_config(cfg, len(categories), read_weights=False)
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as error:
        raise as_user_error(error) or error
    model.to(device).eval()
    return model, cfg, list(categories)
