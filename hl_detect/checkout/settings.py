"""A run's checkout settings: score threshold(s), count rule, where the threshold came from.

Shared by tools/eval_det.py and tools/predict.py so that the metrics and the receipts count
items the same way. Precedence: a command-line value, then a thresholds file written by
``eval_det.py --checkout --sweep`` (chosen on validation data), then the run's config, then
the defaults (runs trained before a key existed still load).

``checkout_thresholds.json`` (written next to the evaluation report) is read and written by
thresholds_file.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Union

import numpy as np

from ..errors import ConfigError
from .counting import DEFAULT_AGNOSTIC_IOU, check_count_rule
from .products import Category
from .thresholds_file import class_thresholds, load_thresholds

# the split that holds validation data, for runs whose config predates data.val.split / val_split
_VAL_SPLIT_BY_KIND = {"synthetic": "val", "rpc": "val"}


@dataclass
class CheckoutSettings:
    threshold: Union[float, np.ndarray]  # one for all classes, or [C] per class
    source: str  # where the threshold came from, printed beside every number
    count_rule: str
    agnostic_iou: float

    def describe(self) -> str:
        thr = "per-class thresholds" if np.ndim(self.threshold) else f"threshold {self.threshold:.2f}"
        rule = f"agnostic (IoU > {self.agnostic_iou:g} merged)" if self.count_rule == "agnostic" else "per_class"
        return f"{thr} from {self.source}, count rule {rule}"


def checkout_settings(cfg: dict, threshold: Optional[float] = None, count_rule: Optional[str] = None,
                      agnostic_iou: Optional[float] = None, thresholds_file=None,
                      per_class: bool = False, categories: Optional[Sequence[Category]] = None) -> CheckoutSettings:
    """The settings to count with; ``per_class`` takes the file's per-class thresholds, which
    must fit ``categories`` (the model's, when given: thresholds_file.class_thresholds)."""
    if per_class and not thresholds_file and threshold is None:
        raise ConfigError("per-class thresholds come from a thresholds file, and none was given",
                          hint="pass --thresholds RUN/checkout_thresholds.json (eval_det.py --checkout --sweep writes it)")
    chosen = load_thresholds(thresholds_file) if thresholds_file else {}
    if chosen and count_rule and chosen.get("count_rule") and count_rule != chosen["count_rule"]:
        # a threshold chosen for one count rule says nothing about another
        raise ConfigError(f"{thresholds_file}: its thresholds were chosen for count rule {chosen['count_rule']!r}, "
                          f"not {count_rule!r}", hint="drop --count-rule, or write a file for that rule with "
                          f"eval_det.py --checkout --sweep --count-rule {count_rule}")
    rule = count_rule or chosen.get("count_rule") or cfg.get("checkout_count_rule") or "per_class"
    iou = agnostic_iou if agnostic_iou is not None else chosen.get("agnostic_iou")
    if iou is None:  # a per_class file stores none: the config's (or the default) applies
        iou = cfg.get("checkout_agnostic_iou", DEFAULT_AGNOSTIC_IOU)
    if threshold is not None:
        thr, source = float(threshold), "the command line"
    elif chosen:
        thr = class_thresholds(chosen, thresholds_file, categories) if per_class else float(chosen["threshold"])
        source = f"{thresholds_file} ({'per class, ' if per_class else ''}chosen on {chosen.get('chosen_on', 'val')})"
    else:
        thr, source = float(cfg.get("checkout_threshold", 0.5)), "the run's config"
    return CheckoutSettings(thr, source, check_count_rule(rule), float(iou if iou is not None else DEFAULT_AGNOSTIC_IOU))


def check_unit_interval(**flags: Optional[float]) -> None:
    """Refuse a score threshold or IoU given on the command line outside [0, 1] (a score is a
    probability, an IoU a fraction): said before a checkpoint or an image is read, not after
    counting nothing. ``flags``: flag name without dashes -> value (None: not given)."""
    for name, value in flags.items():
        if value is not None and not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):  # NaN fails too
            flag = "--" + name.replace("_", "-")
            raise ConfigError(f"{flag} {value}: must be between 0 and 1",
                              hint=f"give {flag} a value in [0, 1], e.g. {flag} 0.5, or leave it out for the run's own")


def default_val_split(cfg: dict) -> Optional[str]:
    """data.val.split (or the older data.val_split); a config from before either: by kind."""
    from ..data.splits import split_config

    data = cfg["data"]
    if "val" in data or "val_split" in data:
        resolved = split_config(data, "val")
        return resolved["split"] if resolved else None
    return _VAL_SPLIT_BY_KIND.get(data.get("kind"))


def image_levels(dataset) -> dict:
    """{image_id: level} from a COCO-format dataset whose images carry RPC's ``level``; else {}."""
    coco = getattr(dataset, "coco", None)
    imgs = getattr(coco, "imgs", None) or {}
    return {int(i): str(img["level"]) for i, img in imgs.items() if img.get("level") is not None}
