"""What a resume may change: the checkpoint's config against the one the resumed run was given.

The checkpoint holds the resolved config it was trained with (``config``) and its classes; the
run folder's config.yaml may have been edited or replaced since, so the checkpoint is the
reference (run/commands/train.py also starts a resume's config from it). Compared key by key:

    seed, the classes        refused: another seed or class list is another run, not its continuation
    device, threads,         noted: where and how fast it runs, not what it learns; epochs may grow
    data.workers, epochs     (a finished run trained on) -- the augmentation is the same for any
                             worker count (engine/data_order.py)
    output_dir               ignored (where the run is, not what it is)
    anything else            listed, and refused unless ``allow_config_change``; then the resume is
                             recorded as not exact (Trainer.resumes: the checkpoint, metrics.json)

A typed key the checkpoint's config lacks (written before hl_detect had it) is compared as its
schema default, the value that run used; so adding a key does not block resuming older runs.

A changed lr, momentum, weight_decay, lr_step_epochs or lr_gamma would be silently undone by the
optimizer and scheduler states the checkpoint restores; ``apply_optimizer_changes`` puts the
new values into them after the restore, so an allowed change takes effect.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

from ..engine import CHECKPOINT, load_checkpoint
from ..errors import CheckpointError, ConfigError

REFUSED = ("seed",)
NOTED = ("device", "threads", "data.workers", "epochs")
IGNORED = ("output_dir",)
_MISSING = "(not set)"


def checkpoint_path(resume) -> Path:
    path = Path(resume)
    return path / CHECKPOINT if path.is_dir() else path


def read_resume_source(resume) -> dict:
    """The checkpoint's config and classes, without reading its tensors (mmap)."""
    ckpt = load_checkpoint(checkpoint_path(resume), mmap=True)
    return {"config": ckpt.get("config"), "class_names": ckpt.get("class_names"), "categories": ckpt.get("categories")}


def _flat(cfg: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in cfg.items():
        if isinstance(value, dict) and value:
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _saved_value(old: dict, key: str) -> Any:
    """The checkpoint's value; for a typed key its hl_detect predates, the schema's default,
    which is what that run used (a key added later, e.g. model.weights, is no change). A key
    inside a free-form dict (``*options``) or a section the schema does not fill (a split's
    keys fall back to the shared data keys) has no such default: it was truly not set."""
    from dataclasses import is_dataclass

    from .schema import RunConfig

    if key in old:
        return old[key]
    node: Any = RunConfig()
    for part in key.split("."):
        if not is_dataclass(node) or not getattr(node, "fill_missing", True) or not hasattr(node, part):
            return _MISSING
        node = getattr(node, part)
    return node


def config_changes(saved: dict, cfg: dict) -> dict[str, tuple]:
    """{dotted key: (checkpoint's value, this run's value)} of every key that differs."""
    old, new = _flat(saved), _flat(cfg)
    pairs = {k: (_saved_value(old, k), new.get(k, _MISSING)) for k in sorted(set(old) | set(new))}
    return {k: pair for k, pair in pairs.items() if pair[0] != pair[1]}


def check_resume_config(saved: Optional[dict], cfg: dict, allow_change: bool, say: Callable = print) -> list[str]:
    """Refuse what a resume cannot change; returns the reasons this resume is not exact."""
    if not saved:
        say("[resume] note: the checkpoint holds no config (an older hl_detect); the given one is used unchecked")
        return []
    changes = {k: v for k, v in config_changes(saved, cfg).items() if k not in IGNORED}
    refused = {k: v for k, v in changes.items() if k in REFUSED}
    if refused:
        raise ConfigError(f"a resume cannot change {_listed(refused)}: that is another run, not this one's continuation",
                          hint="resume with the checkpoint's values (drop the flags that change them), or start "
                               "a new run with another --output-dir")
    for key, (old, new) in changes.items():
        if key in NOTED:
            say(f"[resume] note: {key} {old} -> {new} (the checkpoint's -> this run's)")
    other = {k: v for k, v in changes.items() if k not in NOTED}
    if other and not allow_change:
        raise ConfigError("the config differs from the checkpoint's:\n  " + "\n  ".join(_lines(other)),
                          hint="resume with the checkpoint's config (drop the flags or --config that change it), "
                               "or pass --allow-config-change to train on with the new values (not an exact resume)")
    for line in _lines(other):
        say(f"[resume] config change (allowed, not an exact resume): {line}")
    return [f"config changed: {line}" for line in _lines(other)]


def _ids(categories) -> list:
    return [c.get("id") for c in categories or []]


def check_classes(saved_names, class_names: list, saved_categories=None, categories=None) -> None:
    """The data's classes must be the checkpoint's, in the same order, with the same dataset ids
    where both know them (same count but other names would load and train on silently wrong
    labels)."""
    ids, saved_ids = _ids(categories), _ids(saved_categories)
    if saved_ids and ids and None not in saved_ids and None not in ids and saved_ids != ids:
        raise CheckpointError(f"the data's category ids differ from the checkpoint's: {ids[:8]} instead of {saved_ids[:8]}",
                              hint="resume with the annotation files the run was trained on (its config.yaml), "
                                   "or start a new run with another --output-dir")
    if saved_names is not None and list(map(str, saved_names)) != list(map(str, class_names)):
        raise CheckpointError(f"the data's classes differ from the checkpoint's: {_short(class_names)} "
                              f"instead of {_short(saved_names)}",
                              hint="resume with the dataset and category selection the run was trained on "
                                   "(its config.yaml), or start a new run with another --output-dir")


def apply_optimizer_changes(changes: dict[str, tuple], optimizer, epoch_scheduler, lr_warmup) -> None:
    """Put an allowed change of the optimizer's or the schedule's values into the restored states."""
    if "lr" in changes:
        old, new = (float(v) for v in changes["lr"])
        # the schedules' factors so far stay, the base lr changes (from 0 there are no factors to keep)
        ratio = new / old if old else 1.0
        for group in optimizer.param_groups:
            group["lr"] = group["lr"] * ratio if old else new
            if "initial_lr" in group:
                group["initial_lr"] *= ratio
        for scheduler in (epoch_scheduler, lr_warmup):
            if scheduler is not None:
                scheduler.base_lrs = [b * ratio for b in scheduler.base_lrs]
                scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]
    for key in ("momentum", "weight_decay"):
        if key in changes:
            for group in optimizer.param_groups:
                if key in group:
                    group[key] = changes[key][1]
    if "lr_step_epochs" in changes:
        epoch_scheduler.step_size = changes["lr_step_epochs"][1]
    if "lr_gamma" in changes:
        epoch_scheduler.gamma = changes["lr_gamma"][1]


def _lines(changes: dict) -> list[str]:
    return [f"{key}: {old!r} -> {new!r}" for key, (old, new) in changes.items()]


def _listed(changes: dict) -> str:
    return ", ".join(f"{key} ({old!r} -> {new!r})" for key, (old, new) in changes.items())


def _short(names) -> str:
    names = list(names)
    return f"{len(names)} classes [{', '.join(map(str, names[:5]))}{', ...' if len(names) > 5 else ''}]"
