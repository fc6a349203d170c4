"""Checkout metrics of a few training recipes over paired seeds, as one table (issue 27 item 4:
exemplars as they are, trays synthesized from them, real trays).

Each arm is a folder of ``seed<k>/metrics.json`` files that tools/train_det.py (directly or
through tools/compare_losses.py) wrote. The table gives mean ± 95 % CI over seeds
(hl_detect.stats.mean_ci) of cAcc, mCIoU, box accuracy (with coverage) and AP50 at the run's
own checkout settings, the train minutes, and, for an arm measured against an upper bound, the
share of the bound's cAcc it recovers: the ratio of the means, and the mean of the per-seed
ratios over the seeds both have (paired, so a lucky seed in one arm does not count alone).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from ..stats import mean_ci
from ..tables import markdown_table

METRICS = (("cAcc", "checkout", "cAcc"), ("mCIoU", "checkout", "mCIoU"),
           ("box accuracy", None, "box_accuracy"), ("coverage", None, "box_coverage"), ("AP50", None, "mAP50_area"))


@dataclass(frozen=True)
class ArmRuns:
    label: str
    folder: Path


def seed_metrics(folder: Path, seeds: Optional[Iterable[int]] = None) -> dict[int, dict]:
    """{seed: {metric name: value in %, "minutes": train minutes}} of every finished seed (of
    ``seeds`` only, when given: e.g. the seeds no design choice was tuned on)."""
    out = {}
    wanted = None if seeds is None else set(seeds)
    for path in sorted(Path(folder).glob("seed*/metrics.json")):
        seed = int(path.parent.name[len("seed"):])
        if wanted is not None and seed not in wanted:
            continue
        data = json.loads(path.read_text())
        final = data["final"]
        row = {}
        for name, section, key in METRICS:
            value = (final.get(section) or {}).get(key) if section else final.get(key)
            if value is None:
                raise ValueError(f"{path}: final{'.' + section if section else ''}.{key} is missing "
                                 "(train with eval_checkout on, as configs/demo_checkout_exemplars.yaml does)")
            row[name] = 100.0 * float(value)
        # the training phase of an unbroken run; a resumed run's metrics.json times only its
        # last session, and older runs have no phases: their minutes are left out, not guessed
        timing = data.get("timing") or {}
        seconds = timing.get("seconds", {}).get("training")
        unbroken = timing.get("covers") == "this invocation" and not data.get("resumes")
        row["minutes"] = seconds / 60.0 if seconds is not None and unbroken else None
        # the whole run (training, evaluations, pictures) from start to end, for runs that have no phases
        row["wall minutes"] = data["elapsed_s"] / 60.0 if not data.get("resumes") else None
        out[seed] = row
    return out


def _cell(stat: dict, digits: int = 2) -> str:
    if stat["n"] == 0:
        return "-"
    if stat["n"] == 1:
        return f"{stat['mean']:.{digits}f}"
    return f"{stat['mean']:.{digits}f} ± {stat['ci']:.{digits}f}"


def _minutes_cell(stat: dict, seeds: int) -> str:
    return _cell(stat, 1) + ("" if stat["n"] == seeds else f" ({stat['n']} of {seeds} seeds timed)")


def recovered_share(arm: dict[int, dict], bound: dict[int, dict]) -> dict:
    """{"of_means", "paired": mean_ci of per-seed ratios, "seeds"} of cAcc, in %, both over the
    seeds the two arms share."""
    seeds = sorted(set(arm) & set(bound))
    ratios = [100.0 * arm[s]["cAcc"] / bound[s]["cAcc"] for s in seeds if bound[s]["cAcc"] > 0]
    # both means over the shared seeds: a bound with more seeds must not move an arm's share
    a = mean_ci(arm[s]["cAcc"] for s in seeds)["mean"]
    b = mean_ci(bound[s]["cAcc"] for s in seeds)["mean"]
    return {"of_means": 100.0 * a / b if b and not math.isnan(b) else float("nan"),
            "paired": mean_ci(ratios), "seeds": seeds}


def checkout_arms_table(arms: list[ArmRuns], bound: Optional[str] = None,
                        seeds: Optional[Iterable[int]] = None) -> tuple[str, dict]:
    """(markdown table, JSON-able summary) of ``arms``; ``bound`` is the label of the upper-bound
    arm the others' share of cAcc is measured against; ``seeds``: only those runs."""
    seeds = None if seeds is None else list(seeds)
    per_arm = {arm.label: seed_metrics(arm.folder, seeds) for arm in arms}
    if bound is not None and bound not in per_arm:
        raise ValueError(f"the bound {bound!r} is none of the arms {sorted(per_arm)}")
    header = ["arm", "seeds", "cAcc", "mCIoU", "box accuracy (coverage)", "AP50", "train min", "wall min"]
    if bound:
        header.append(f"cAcc as a share of {bound} (of means; paired)")
    rows, summary = [], {}
    for arm in arms:
        runs = per_arm[arm.label]
        stats = {name: mean_ci(r[name] for r in runs.values()) for name, _, _ in METRICS}
        for key in ("minutes", "wall minutes"):
            stats[key] = mean_ci(r[key] for r in runs.values() if r[key] is not None)
        row = [arm.label, ", ".join(map(str, sorted(runs))) or "none", _cell(stats["cAcc"]), _cell(stats["mCIoU"]),
               f"{_cell(stats['box accuracy'])} ({_cell(stats['coverage'], 1)} %)", _cell(stats["AP50"]),
               *(_minutes_cell(stats[key], len(runs)) for key in ("minutes", "wall minutes"))]
        entry = {"folder": str(arm.folder), "seeds": sorted(runs), "metrics": stats}
        if bound:
            if arm.label == bound or not runs or not per_arm[bound]:
                row.append("-")
            else:
                share = recovered_share(runs, per_arm[bound])
                row.append(f"{share['of_means']:.1f} %; {_cell(share['paired'], 1)} %")
                entry["share_of_bound_cAcc"] = share
        rows.append(row)
        summary[arm.label] = entry
    return markdown_table(header, rows), summary
