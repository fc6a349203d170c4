"""Summary statistics shared by evaluation/, checkout/ and the loss studies, and how they print.

A low-level module (numpy and scipy only, nothing of hl_detect), so every layer that reports
a mean over seeds or a percentage imports it downward.

Mean over seeds with its 95 % confidence half-width: t_{0.975, n-1} * s / sqrt(n), s the
sample standard deviation (ddof = 1).
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np


def t_quantile(n: int) -> float:
    """t_{0.975, n-1}, the two-sided 95 % quantile (nan for n < 2)."""
    if n < 2:
        return float("nan")
    from scipy.stats import t  # scipy is slow to import; only studies and curves need it

    return float(t.ppf(0.975, n - 1))


def mean_ci(values) -> dict:
    """{"mean", "ci" (95 % half-width), "std" (sample), "n", "values"}."""
    arr = np.asarray(list(values), dtype=np.float64)
    n = len(arr)
    if n == 0:
        return {"mean": float("nan"), "ci": float("nan"), "std": float("nan"), "n": 0, "values": []}
    std = float(arr.std(ddof=1)) if n > 1 else float("nan")
    ci = t_quantile(n) * std / math.sqrt(n) if n > 1 else float("nan")
    return {"mean": float(arr.mean()), "ci": ci, "std": std, "n": n, "values": arr.tolist()}


def percent(fraction: Optional[float], digits: int = 2, missing: str = "-") -> str:
    """A fraction in [0, 1] as percent text (0.8123 -> "81.23"); ``missing`` when it is None.

    Tables write "-" for a metric that does not apply; the run's log lines write "n/a"."""
    return missing if fraction is None else f"{100.0 * fraction:.{digits}f}"
