"""``checkout_thresholds.json``: the thresholds ``eval_det.py --checkout --sweep`` chose on
validation data, read back by ``predict.py --thresholds``.

    {"count_rule", "agnostic_iou", "threshold" (the val-chosen global one),
     "class_thresholds": [{"label", "category_id", "name", "threshold"}, ...] (per class,
                          calibrated on val; one entry per model category, in label order),
     "chosen_on" (the split, or the annotation file given with --val-ann-file), "criterion"}

Per-class thresholds are keyed by the dataset's category id, not only by position: a file
written for another model (other categories, or the same ones labelled differently) would
otherwise apply each threshold to the wrong product without a word. Files written before
the entries carried their category (a plain list of C numbers, indexed by label) are still
read; only their length can be checked.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..errors import ConfigError, MissingFileError
from .products import Category

THRESHOLDS_FILE = "checkout_thresholds.json"
_REWRITE = "use the file that eval_det.py --checkout --sweep wrote for this run"


def thresholds_record(selection: dict, count_rule: str, chosen_on: str, categories: Sequence[Category]) -> dict:
    """What predict.py needs from an eval_det selection: the chosen thresholds of one rule,
    per-class ones as one entry per category of ``categories`` (the model's, label order)."""
    rule = selection["rules"][count_rule]
    rows = {row["source"]: row for row in rule["rows"]}
    per_class = rows.get("per class, calibrated on val", {}).get("threshold")
    entries = None if per_class is None else [
        {"label": c.label, "category_id": c.category_id, "name": c.name, "threshold": float(t)}
        for c, t in zip(categories, per_class)]
    return {"count_rule": count_rule, "agnostic_iou": rule["agnostic_iou"],
            "threshold": rows["chosen on val"]["threshold"], "class_thresholds": entries,
            "chosen_on": chosen_on, "criterion": selection["criterion"]}


def load_thresholds(path) -> dict:
    """The file's record (a folder: its checkout_thresholds.json); its global threshold is checked."""
    path = Path(path)
    if path.is_dir():
        path = path / THRESHOLDS_FILE
    if not path.is_file():
        raise MissingFileError(f"thresholds file not found: {path}",
                               hint="python tools/eval_det.py RUN --checkout --sweep writes RUN/checkout_thresholds.json")
    try:
        data = json.loads(path.read_text())
        float(data["threshold"])
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"{path}: not a checkout thresholds file ({type(error).__name__}: {error})",
                          hint="use the checkout_thresholds.json that eval_det.py --checkout --sweep wrote") from None
    return data


def class_thresholds(chosen: dict, path, categories: Optional[Sequence[Category]] = None) -> np.ndarray:
    """[C] thresholds in the model's label order. Entries with categories must name exactly
    ``categories`` (by category id and name; the first difference is the error); the old
    plain list must have one number per category."""
    values = chosen.get("class_thresholds")
    if isinstance(values, list) and values and all(isinstance(v, dict) for v in values):
        return _by_category(values, path, categories)
    thr = _numbers(values)
    if thr is None or (categories is not None and len(thr) != len(categories)):
        have = "none" if values is None else f"{len(values) if isinstance(values, list) else 'no list of'} values"
        raise ConfigError(f"{path}: per-class thresholds must be {len(categories) if categories else 'C'} finite "
                          f"numbers, one per class; the file has {have}", hint=_REWRITE)
    return thr


def _numbers(values) -> Optional[np.ndarray]:
    """A 1-D array of finite floats, or None."""
    try:
        thr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return thr if values is not None and thr.ndim == 1 and np.isfinite(thr).all() else None


def _describe(category_id, name) -> str:
    return f"category {category_id} {name!r}"


def _by_category(entries: list, path, categories: Optional[Sequence[Category]]) -> np.ndarray:
    try:
        by_id = {int(e["category_id"]): (str(e["name"]), float(e["threshold"])) for e in entries}
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"{path}: a per-class entry lacks its category_id, name or threshold "
                          f"({type(error).__name__}: {error})", hint=_REWRITE) from None
    if len(by_id) != len(entries):
        raise ConfigError(f"{path}: a category id appears twice among the per-class thresholds", hint=_REWRITE)
    if categories is None:  # nothing to match against: the file's own label order
        ordered = sorted(entries, key=lambda e: int(e.get("label", 0)))
        thr = _numbers([by_id[int(e["category_id"])][1] for e in ordered])
    else:
        for c in categories:
            if c.category_id not in by_id:
                raise ConfigError(f"{path}: its per-class thresholds do not match the model's categories: "
                                  f"the model's {_describe(c.category_id, c.name)} (label {c.label}) is not in the file",
                                  hint=_REWRITE)
            if by_id[c.category_id][0] != c.name:
                raise ConfigError(f"{path}: its per-class thresholds do not match the model's categories: category "
                                  f"{c.category_id} is {by_id[c.category_id][0]!r} in the file, {c.name!r} in the model",
                                  hint=_REWRITE)
        extra = sorted(set(by_id) - {c.category_id for c in categories})
        if extra:
            raise ConfigError(f"{path}: its per-class thresholds do not match the model's categories: the file's "
                              f"{_describe(extra[0], by_id[extra[0]][0])} is not one of the model's", hint=_REWRITE)
        thr = _numbers([by_id[c.category_id][1] for c in categories])
    if thr is None:
        raise ConfigError(f"{path}: per-class thresholds must be finite numbers", hint=_REWRITE)
    return thr
