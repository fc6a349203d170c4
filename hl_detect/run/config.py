"""Run configuration: small YAML files of keyword arguments, a base plus overrides.

A config file may name ``_base_: other.yaml`` (relative to itself); its keys are merged
over the base's, nested dicts key by key. Command-line overrides are ``dotted.key=value``
strings whose value is parsed as YAML (``lr=2e-4``, ``model.head=c4``,
``loss_options.hl.weight=0``). An override of a key the config does not have is an error
(a typo must not silently train something else), except inside ``*options`` dicts,
which are free-form keyword arguments. The merged result is then checked against the
schema (schema.py: every key's type, range and default; schema_check.py), and
``check_names`` checks the loss, the head, a detector weights name or file and ``loss_options``
against the code (loss_options_check.py), all before any data loads.

Mistakes raise hl_detect.errors' ConfigError / ConfigKeyError / MissingFileError, with a
"did you mean ...?" where a known name is close; the tools print them without a traceback.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterable, Optional, Union

import yaml

from ..errors import ConfigError, ConfigKeyError, MissingFileError, did_you_mean
from .schema_check import check_config


def _config_dir() -> Path:
    """The YAML presets: hl_detect/configs in an installed package (pyproject.toml ships the
    top-level configs/ there), the top-level configs/ in a checkout (and an editable install)."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "configs"
    return installed if installed.is_dir() else package.parent / "configs"


CONFIG_DIR = _config_dir()

PathLike = Union[str, Path]


def _merge(base: dict, update: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def read_config_file(path: PathLike) -> dict:
    """One YAML file with its ``_base_`` chain resolved."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"config file not found: {path}",
                               hint="check the path given to --config (relative to the current folder)")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}", hint=f"fix the YAML syntax of {path}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a mapping of keys to values",
                          hint="write one 'key: value' per line, as configs/demo.yaml does")
    base = data.pop("_base_", None)
    return _merge(read_config_file(path.parent / base), data) if base else data


def _parse_value(raw: str) -> Any:
    """YAML scalar, but ``2e-4`` is a number (YAML 1.1 would read it as a string)."""
    if not raw.strip():
        return None
    value = yaml.safe_load(raw)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    return value


def apply_override(cfg: dict, override: str) -> None:
    """Apply one ``dotted.key=value`` override in place."""
    if "=" not in override:
        raise ConfigError(f"override {override!r} must look like key=value (e.g. lr=2e-4)",
                          hint="write --set KEY=VALUE, e.g. --set lr=2e-4 or --set model.head=c4")
    dotted, raw = override.split("=", 1)
    keys = dotted.strip().split(".")
    value = _parse_value(raw)
    node = cfg
    for depth, key in enumerate(keys):
        # keys under an ``*options`` dict are free-form keyword arguments
        free_form = any(k.endswith("options") for k in keys[:depth])
        if key not in node and not free_form:
            prefix = "".join(f"{k}." for k in keys[:depth])  # suggest the whole dotted key
            suggestion = did_you_mean(f"{prefix}{key}", [f"{prefix}{k}" for k in node], "keys")
            raise ConfigKeyError(f"override {override!r}: unknown key {prefix + key!r}; {suggestion}")
        if depth == len(keys) - 1:
            node[key] = value
        else:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]


def load_config(paths: Iterable[PathLike], overrides: Optional[Iterable[str]] = None) -> dict:
    """Merge config files left to right, then apply ``key=value`` overrides; check every value
    and fill the keys left out (schema_check.py); ``input_size`` then sets the data and model
    sizes together, and sizes that disagree are refused (hl_detect/run/input_size.py)."""
    from .input_size import check_input_size, resolve_input_size

    cfg: dict[str, Any] = {}
    for path in paths:
        cfg = _merge(cfg, read_config_file(path))
    for override in overrides or []:
        apply_override(cfg, override)
    # types and ranges first: the input size code below may then trust the values it reads
    return check_input_size(resolve_input_size(check_config(cfg)))


def dataset_config_path(name: str) -> Path:
    """``voc0712`` -> configs/voc0712.yaml (a path to a YAML file is accepted too)."""
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml"):
        return candidate
    path = CONFIG_DIR / f"{name}.yaml"
    if not path.is_file():
        choices = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml") if p.stem != "base")
        raise MissingFileError(
            f"no config for dataset {name!r} ({path} missing); {did_you_mean(name, choices, 'datasets')}",
            hint=f"--dataset takes a name from configs/ ({', '.join(choices)}) or a YAML file; "
                 "the demo needs no download: python tools/train_det.py")
    return path


def check_loss_name(loss: str) -> str:
    """``loss`` if the registry knows it (``cosface+hl`` too), else a ConfigError with a suggestion."""
    from ..losses import LOSSES, loss_parts  # torch: imported only when a config is used

    try:
        loss_parts(loss)
    except ValueError as error:
        unknown = next((p.strip() for p in loss.split("+") if p.strip() not in LOSSES), None)
        if unknown is None:  # every part is known: the registry's message says what is wrong
            raise ConfigError(str(error), hint="name each part of a composed loss once, e.g. cosface+hl") from None
        raise ConfigError(
            f"unknown loss {unknown!r}; {did_you_mean(unknown, LOSSES, 'losses')}",
            hint="--loss takes a registered name, or a logit loss and penalties joined with '+' "
                 "(e.g. cosface+hl); configs/base.yaml lists them under loss_options") from None
    return loss


def check_names(cfg: dict, read_weights: bool = True) -> dict:
    """Fail now, with a suggestion, on an unknown loss, model head or loss option, or a loss
    option out of the loss's range, not after the data has loaded. ``read_weights=False``
    (a resume, whose checkpoint holds the weights): a weights file need not exist any more."""
    from ..models import MODELS
    from ..models.factory import check_weights
    from .loss_options_check import check_loss_options

    if isinstance(cfg.get("loss"), str):
        check_loss_name(cfg["loss"])
    head = (cfg.get("model") or {}).get("head")
    if head is not None and head not in MODELS:
        raise ConfigError(f"unknown model head {head!r}; {did_you_mean(head, MODELS, 'heads')}",
                          hint=f"--head (--model) takes one of {', '.join(MODELS)} (hl_detect/models/factory.py)")
    if head is not None:  # a missing weights file fails now, not after the data loaded
        check_weights(head, (cfg.get("model") or {}).get("weights"), read_weights)
    check_loss_options(cfg)
    return cfg


def save_config(cfg: dict, path: PathLike) -> None:
    from ..atomic_files import write_text_atomic  # a kill mid-write leaves the old file whole

    write_text_atomic(path, yaml.safe_dump(cfg, sort_keys=False))
