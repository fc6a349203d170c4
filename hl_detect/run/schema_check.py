"""Check a merged config against the schema (schema.py): types, ranges, unknown keys.

Runs at load, after the YAML files are merged and the --set / flag overrides applied, so a
mistake ends in ``error:`` + ``next step:`` (exit status 2) before any data loads, not as a
traceback (or a silently untrained model) later. Keys a config leaves out get the schema's
default, so the code reading a loaded config needs no default of its own. Values are kept
as given (an int where a float is allowed stays an int): a valid config trains as before.
"""
from __future__ import annotations

import copy
import math
import typing
from dataclasses import MISSING, asdict, fields, is_dataclass
from typing import Any, Union

from ..errors import ConfigError, ConfigKeyError, did_you_mean
from .schema import DataConfig, RunConfig, SplitConfig

HINT = "fix the value in the config or the --set override; configs/base.yaml lists every key with what it takes"


def check_config(cfg: dict) -> dict:
    """A copy of ``cfg`` with every key checked and the missing ones at their defaults;
    raises ConfigError (a value) or ConfigKeyError (an unknown key)."""
    return _check_section(copy.deepcopy(cfg), RunConfig, "")


def _check_section(values: Any, cls: type, prefix: str, extra: type = None) -> Any:
    """``values`` (a mapping) against the dataclass ``cls``; ``extra``: a class whose keys are
    also allowed here (a split section may hold any data key)."""
    if values is None:  # an empty YAML section (``val:``): its keys keep the code's handling of null
        return values
    if not isinstance(values, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'the config'}={values!r}: must be a mapping of keys to values",
                          hint=HINT)
    known = {f.name: f for f in fields(cls)}
    if extra is not None:
        known = {**{f.name: f for f in fields(extra) if f.name not in ("train", "test", "val")}, **known}
    hints = {**(typing.get_type_hints(extra) if extra is not None else {}), **typing.get_type_hints(cls)}
    for key in values:
        if key not in known:
            suggestion = did_you_mean(f"{prefix}{key}", [f"{prefix}{k}" for k in known], "keys")
            raise ConfigKeyError(f"unknown key {prefix + str(key)!r}; {suggestion}")
    for name, spec in known.items():
        if name not in values:
            if getattr(cls, "fill_missing", True):  # schema.py says where a key left out means something
                values[name] = _default(spec)
            continue
        values[name] = _check_value(values[name], hints[name], spec.metadata, f"{prefix}{name}")
    return values


def _default(spec) -> Any:
    if spec.default is not MISSING:
        return copy.deepcopy(spec.default)
    value = spec.default_factory()
    return asdict(value) if is_dataclass(value) else value


def _check_value(value: Any, hint: Any, rules: dict, path: str) -> Any:
    section = _section_class(hint)
    if section is not None:
        extra = DataConfig if section is SplitConfig else None
        return _check_section(value, section, f"{path}.", extra)
    if not _matches(value, hint):
        raise ConfigError(f"{path}={value!r}: must be {_describe(hint)}", hint=HINT)
    _check_range(value, rules, path)
    return value


def _section_class(hint: Any):
    return hint if isinstance(hint, type) and is_dataclass(hint) else None


def _matches(value: Any, hint: Any) -> bool:
    if hint is Any:
        return True
    if typing.get_origin(hint) is Union:
        return any(_matches(value, option) for option in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:  # an integer is a number too; NaN and infinity are not
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if hint is str:
        return isinstance(value, str)
    if hint is dict or typing.get_origin(hint) is dict:
        return isinstance(value, dict)
    if hint is list or typing.get_origin(hint) is list:
        return isinstance(value, (list, tuple))
    raise TypeError(f"schema type {hint!r} has no check")  # a schema field of a type this file does not know


_NAMES = {bool: "true or false", int: "an integer", float: "a finite number", str: "text", dict: "a mapping",
          list: "a list", type(None): "null"}


def _describe(hint: Any) -> str:
    if typing.get_origin(hint) is Union:
        return " or ".join(_describe(option) for option in typing.get_args(hint))
    return _NAMES.get(typing.get_origin(hint) or hint, str(hint))


def _check_range(value: Any, rules: dict, path: str) -> None:
    if value is None:
        return
    choices = rules.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(f"{path}={value!r}: must be one of {', '.join(map(str, choices))}; "
                          f"{did_you_mean(value, choices, 'values')}", hint=HINT)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    for rule, ok, word in (("at_least", value >= rules.get("at_least", -math.inf), ">="),
                           ("above", value > rules.get("above", -math.inf), ">"),
                           ("at_most", value <= rules.get("at_most", math.inf), "<="),
                           ("below", value < rules.get("below", math.inf), "<")):
        if rule in rules and not ok:
            raise ConfigError(f"{path}={value!r}: must be {word} {rules[rule]}", hint=HINT)
