"""Run configuration: small YAML files of keyword arguments, a base plus overrides.

A config file may name ``_base_: other.yaml`` (relative to itself); its keys are merged
over the base's, nested dicts key by key. Command-line overrides are ``dotted.key=value``
strings whose value is parsed as YAML (``lr=2e-4``, ``model.head=c4``,
``loss_options.weight=0``). An override of a key the config does not have is an error
(a typo must not silently train something else), except inside ``*options`` dicts,
which are free-form keyword arguments.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterable, Optional, Union

import yaml

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"

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
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a config must be a mapping of keys to values")
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
        raise ValueError(f"override {override!r} must look like key=value (e.g. lr=2e-4)")
    dotted, raw = override.split("=", 1)
    keys = dotted.strip().split(".")
    value = _parse_value(raw)
    node = cfg
    for depth, key in enumerate(keys):
        # keys under an ``*options`` dict are free-form keyword arguments
        free_form = any(k.endswith("options") for k in keys[:depth])
        if key not in node and not free_form:
            known = ", ".join(sorted(node))
            raise KeyError(f"override {override!r}: unknown key {'.'.join(keys[: depth + 1])!r}; known: {known}")
        if depth == len(keys) - 1:
            node[key] = value
        else:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]


def load_config(paths: Iterable[PathLike], overrides: Optional[Iterable[str]] = None) -> dict:
    """Merge config files left to right, then apply ``key=value`` overrides."""
    cfg: dict[str, Any] = {}
    for path in paths:
        cfg = _merge(cfg, read_config_file(path))
    for override in overrides or []:
        apply_override(cfg, override)
    return cfg


def dataset_config_path(name: str) -> Path:
    """``voc0712`` -> configs/voc0712.yaml (a path to a YAML file is accepted too)."""
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml"):
        return candidate
    path = CONFIG_DIR / f"{name}.yaml"
    if not path.is_file():
        choices = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml") if p.stem != "base")
        raise FileNotFoundError(f"no config for dataset {name!r}: {path} missing; choose one of {choices}")
    return path


def save_config(cfg: dict, path: PathLike) -> None:
    Path(path).write_text(yaml.safe_dump(cfg, sort_keys=False))
