"""``loss_options`` checked against the losses themselves, before any data loads.

Each ``loss_options.<loss>`` entry holds keyword arguments of that loss's constructor: a key
the constructor does not take is refused with a suggestion (``loss_options.weight=0`` is a
misplaced ``loss_options.hl.weight``, which would otherwise be ignored). The ranges are the
losses' own: the chosen loss is built once, small (C = 2, d = 8), so its constructor's
checks (HL's radius > 0, 0 <= epsilon < 1, ...) speak now, in their words, and no range is
written twice.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

from ..errors import ConfigError, ConfigKeyError, did_you_mean

HINT = "fix the value in the config or the --set override (configs/base.yaml lists each loss's options)"
# given by the model, not by the config
_FROM_MODEL = ("num_classes", "feature_dim")


def check_loss_options(cfg: dict) -> None:
    """Every entry's keys against its loss's constructor, then the chosen loss's values."""
    from ..losses import LOSSES

    options = cfg.get("loss_options") or {}
    chosen = cfg.get("loss")
    for name, kwargs in options.items():
        if name not in LOSSES:
            raise ConfigKeyError(f"loss_options.{name}: no loss is called {name!r}; "
                                 f"{_suggest_for_unknown(name, options, chosen, LOSSES)}")
        if kwargs is None:
            continue
        if not isinstance(kwargs, dict):
            raise ConfigError(f"loss_options.{name}={kwargs!r}: must be a mapping of keyword arguments", hint=HINT)
        accepted = constructor_options(LOSSES[name])
        for key in kwargs:
            if accepted is not None and key not in accepted:
                suggestion = did_you_mean(f"loss_options.{name}.{key}",
                                          [f"loss_options.{name}.{k}" for k in accepted], "options")
                raise ConfigKeyError(f"unknown key 'loss_options.{name}.{key}' ({name} takes no {key!r}); {suggestion}")
    if isinstance(chosen, str):
        _build_small(cfg)


def constructor_options(builder: Callable) -> "set[str] | None":
    """The keyword arguments a loss builder takes, or None when it takes any (``**kwargs``)."""
    target = builder.__init__ if inspect.isclass(builder) else builder
    parameters = inspect.signature(target).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters if p.name != "self" and p.name not in _FROM_MODEL}


def _suggest_for_unknown(name: str, options: dict, chosen: Any, losses: dict) -> str:
    """A key of a loss written one level too high (``loss_options.weight``) points to where it
    belongs; otherwise the loss names that are close."""
    parts = [p.strip() for p in chosen.split("+")] if isinstance(chosen, str) else []
    owners = sorted((loss for loss in losses if name in (constructor_options(losses[loss]) or ())),
                    key=lambda loss: (loss not in parts, loss))  # the chosen loss's own first
    if owners:
        return "did you mean " + " or ".join(f"'loss_options.{o}.{name}'" for o in owners[:3]) + "?"
    return did_you_mean(name, losses, "losses")


def _build_small(cfg: dict) -> None:
    """The chosen loss (each part of a composed one) from the config's options, thrown away."""
    from ..losses import build_classification_loss, loss_parts
    from .load import loss_kwargs

    try:
        loss_parts(cfg["loss"])
    except ValueError:
        return  # an unknown loss name: config.check_loss_name reports it, with a suggestion
    try:
        build_classification_loss(cfg["loss"], num_classes=2, feature_dim=8, **loss_kwargs(cfg, warmup_steps=0))
    except (ValueError, TypeError) as error:
        raise ConfigError(f"loss_options.{options_owner(cfg, error)}: {error}", hint=HINT) from None


def options_owner(cfg: dict, error: Exception) -> str:
    """The loss_options key a loss's ``error`` is about: in a composed loss (``cosface+hl``)
    the part that raises it when built alone with its own options (``hl``), since that is
    where the user sets them; the loss's name when no single part does."""
    from ..losses import build_classification_loss, loss_parts
    from .load import loss_kwargs

    parts = loss_parts(cfg["loss"])
    if len(parts) == 1:
        return cfg["loss"]
    per_part = loss_kwargs(cfg, warmup_steps=0)
    for name in parts:
        try:
            build_classification_loss(name, num_classes=2, feature_dim=8, **per_part[name])
        except (ValueError, TypeError) as part_error:
            if str(part_error) == str(error):
                return name
    return cfg["loss"]
