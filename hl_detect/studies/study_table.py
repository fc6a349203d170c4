"""The study table: one row per arm, mean +- 95 % CI, the paired difference to the baseline
with its Holm-adjusted p and verdict (results.py computes them; tables.py lays them out)."""
from __future__ import annotations

import math
from typing import Optional

from ..tables import table
from .arms import Arm
from .results import ArmResult


def _pm(stat: Optional[dict], signed: bool = False) -> str:
    if not stat or stat["n"] == 0:
        return "-"
    mean = f"{stat['mean']:+.2f}" if signed else f"{stat['mean']:.2f}"
    return mean if math.isnan(stat["ci"]) else f"{mean} ± {stat['ci']:.2f}"


def _p(value: Optional[float]) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def _plateau(stats: list[dict]) -> str:
    return " / ".join(f"{s['mean']:.1f}" for s in stats) if stats else "-"


def format_study(results: list[ArmResult], baseline: Optional[Arm], markdown: bool = True) -> str:
    """One row per arm: n, accuracy (primary) and AP50 mean ± 95 % CI, paired differences with
    Holm-adjusted p and verdict, accuracy at the last 3 evaluated epochs, grad ratio, minutes."""
    b = baseline.label if baseline is not None else "baseline"
    header = ["Arm", "seeds", "box acc.", f"Δacc vs {b}", "p Holm", "verdict (acc)", "acc last 3 epochs",
              "AP50", f"ΔAP50 vs {b}", "p Holm (AP)", "HL/CE grad", "minutes"]
    rows = []
    for r in results:
        ratio = "-" if r.grad_ratio is None else f"{r.grad_ratio:.3g}"
        minutes = "-" if not r.wall_minutes else f"{r.wall_minutes['mean']:.0f}"
        rows.append([r.arm.label, str(len(r.seeds)), _pm(r.metrics.get("acc")), _pm(r.paired.get("acc"), True),
                     _p(r.p_holm.get("acc")), r.verdict.get("acc", "-"), _plateau(r.plateau.get("acc")),
                     _pm(r.metrics.get("ap50")), _pm(r.paired.get("ap50"), True), _p(r.p_holm.get("ap50")),
                     ratio, minutes])
    return table(header, rows, markdown)
