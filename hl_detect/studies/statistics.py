"""Decisions from paired seeds: paired t-test p-values, Holm's correction, equivalence (TOST).

Shapes: one value per seed; a *paired difference* is arm - baseline on the seeds both
finished (a seed fixes the initialization and the data order for every arm). Three
questions, each answered at alpha = 0.05:
  - does the arm differ from the baseline? two-sided paired t-test, its p-values
    Holm-corrected across all arms compared on one metric (the family);
  - is the arm as good as the baseline within +-margin? two one-sided tests (TOST): the
    90 % CI of the mean difference lies inside (-margin, +margin). A 95 % CI that merely
    contains 0 says nothing of the kind;
  - everything else is "undecided": more seeds, not a conclusion.
"""
from __future__ import annotations

import math
from typing import Iterable, Optional, Sequence

import numpy as np


def paired_t_pvalue(differences: Iterable[float]) -> float:
    """Two-sided p-value of H0: mean difference = 0 (nan below 2 pairs; 0 or 1 when all equal)."""
    d = np.asarray(list(differences), dtype=np.float64)
    n = len(d)
    if n < 2:
        return float("nan")
    sd = d.std(ddof=1)
    if sd == 0:
        return 1.0 if d.mean() == 0 else 0.0
    from scipy.stats import t

    stat = d.mean() / (sd / math.sqrt(n))
    return float(2 * t.sf(abs(stat), n - 1))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order (nan entries stay nan, not counted)."""
    index = [i for i, p in enumerate(pvalues) if not math.isnan(p)]
    order = sorted(index, key=lambda i: pvalues[i])
    m = len(order)
    adjusted = [float("nan")] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))  # step-down, kept monotone
        adjusted[i] = running
    return adjusted


def tost_interval(differences: Iterable[float]) -> tuple[float, float]:
    """The 90 % t interval of the mean difference (the two one-sided tests at alpha 0.05)."""
    d = np.asarray(list(differences), dtype=np.float64)
    n = len(d)
    if n < 2:
        return float("nan"), float("nan")
    from scipy.stats import t

    half = float(t.ppf(0.95, n - 1)) * d.std(ddof=1) / math.sqrt(n)
    return float(d.mean() - half), float(d.mean() + half)


def verdict(differences: Sequence[float], adjusted_p: float, margin: float, alpha: float = 0.05,
            min_pairs: int = 2) -> str:
    """"better" / "worse" (Holm-adjusted p < alpha), "equivalent (+-margin)" (TOST), else "undecided".

    Below ``min_pairs`` paired seeds (the study's protocol: e.g. 8 before a claim) the answer is
    "undecided (n < min_pairs)" whatever p says: two seeds that happen to agree to the second
    decimal give a tiny p on one degree of freedom, not evidence."""
    if len(differences) < max(2, min_pairs):
        return f"undecided (n < {max(2, min_pairs)})"
    if not math.isnan(adjusted_p) and adjusted_p < alpha:
        return "better" if np.mean(differences) > 0 else "worse"
    low, high = tost_interval(differences)
    if -margin < low and high < margin:
        return f"equivalent (±{margin:g})"
    return "undecided"


def seed_spread_gate(values: Sequence[float], max_std: float) -> Optional[bool]:
    """Is the sample std (ddof 1) of a metric over seeds at most ``max_std``? None below 2 seeds."""
    if len(values) < 2:
        return None
    return bool(np.std(np.asarray(values, dtype=np.float64), ddof=1) <= max_std)
