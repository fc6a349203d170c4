"""A study's results: each arm's finished runs, mean +- 95 % CI, paired differences to the baseline.

Statistics (per arm, over its finished seeds): mean and the 95 % confidence half-width
t_{0.975, n-1} * s / sqrt(n) (s: sample std, ddof 1, as every table here). Against the
baseline arm, on the seeds both finished (paired: a seed fixes the initialization and the
data order for every arm), the mean paired difference and its 95 % CI the same way, its
paired t-test p-value Holm-corrected across the arms of the study, and a verdict (better /
worse / equivalent within +-margin by TOST / undecided: statistics.py).
Box accuracy is the primary metric, fixed before the runs; AP50 is reported beside it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from ..stats import mean_ci
from .arms import Arm, parse_arm, run_folder
from .statistics import holm, paired_t_pvalue, verdict

#: equivalence margin (points) for "no harm" claims: a TOST inside +-2 points
EQUIVALENCE_MARGIN = 2.0

METRICS = {"ap50": "mAP50_area", "ap50_voc07": "mAP50_voc07", "acc": "box_accuracy"}


def load_finals(out_dir: Path, arm: Arm, seeds: list[int]) -> dict[int, dict]:
    """{seed: metrics.json's "final" plus the last epoch's grad ratio, the run's wall minutes,
    its evaluations per epoch ("history") and per-epoch training losses ("train_log")}."""
    finals: dict[int, dict] = {}
    for seed in seeds:
        path = run_folder(out_dir, arm, seed) / "metrics.json"
        if path.is_file():
            data = json.loads(path.read_text())
            final = dict(data["final"])
            log = data.get("train_log") or []
            ratios = [e["grad_ratio"] for e in log if e.get("grad_ratio") is not None]
            final["grad_ratio"] = ratios[-1] if ratios else None
            final["wall_minutes"] = data["elapsed_s"] / 60 if data.get("elapsed_s") is not None else None
            final["history"], final["train_log"] = data.get("history") or [], log
            finals[seed] = final
    return finals


def last_epochs(finals: dict[int, dict], key: str, count: int = 3) -> list[dict]:
    """mean_ci over seeds of ``key`` at each of the last ``count`` evaluated epochs (the plateau)."""
    rows = [[100 * h[key] for h in f.get("history") or [] if h.get(key) is not None][-count:] for f in finals.values()]
    rows = [r for r in rows if len(r) == count]
    return [mean_ci(r[i] for r in rows) for i in range(count)] if rows else []


@dataclass
class ArmResult:
    arm: Arm
    seeds: list[int]
    metrics: dict = field(default_factory=dict)  # metric -> mean_ci(...)
    paired: dict = field(default_factory=dict)  # metric -> mean_ci of (arm - baseline) on common seeds
    grad_ratio: Optional[float] = None
    p_raw: dict = field(default_factory=dict)  # metric -> paired t-test p against the baseline
    p_holm: dict = field(default_factory=dict)  # metric -> Holm-adjusted over the study's arms
    verdict: dict = field(default_factory=dict)  # metric -> better / worse / equivalent (+-margin) / undecided
    plateau: dict = field(default_factory=dict)  # metric -> mean_ci at each of the last 3 evaluated epochs
    wall_minutes: Optional[dict] = None  # mean_ci of the runs' wall minutes
    runs: dict = field(default_factory=dict)  # seed -> {history, train_log, wall_minutes}: the curves


def study_results(out_dir: Path, arms: list[Arm], seeds: list[int], baseline: Optional[Arm],
                  metrics=("ap50", "acc"), claim_seeds: int = 2) -> list[ArmResult]:
    """The study over the run folders in ``out_dir`` (each finished run's metrics.json)."""
    finals = {arm: load_finals(out_dir, arm, seeds) for arm in arms}
    base = load_finals(out_dir, baseline, seeds) if baseline is not None else {}
    return results_from_finals(finals, base, baseline, metrics, claim_seeds)


def finals_from_study_json(path: Path) -> dict[Arm, dict[int, dict]]:
    """{arm: {seed: final}} rebuilt from a committed study.json (its per-seed metric values and
    curves), so a study can be re-analysed (another baseline, new statistics) without its run
    folders, which are never committed."""
    data = json.loads(Path(path).read_text())
    out = {}
    for row in data["arms"]:
        finals = {int(seed): {} for seed in row["seeds"]}
        for m, stat in row["metrics"].items():
            if stat and len(stat["values"]) == len(row["seeds"]):  # aligned with the seeds
                for seed, value in zip(row["seeds"], stat["values"]):
                    finals[int(seed)][METRICS[m]] = value / 100
        for seed, run in (row.get("runs") or {}).items():
            finals[int(seed)].update(run)
        if row.get("grad_ratio") is not None:
            for final in finals.values():
                final.setdefault("grad_ratio", row["grad_ratio"])
        out[parse_arm(row["arm"])] = finals
    return out


def results_from_finals(finals: dict[Arm, dict[int, dict]], base: dict[int, dict], baseline: Optional[Arm],
                        metrics=("ap50", "acc"), claim_seeds: int = 2) -> list[ArmResult]:
    """Per arm: mean ± CI, the paired difference to ``base`` (the baseline's finals), its
    Holm-adjusted p-value and verdict (none below ``claim_seeds`` paired seeds), the plateau,
    wall minutes and the runs' curves."""
    results = []
    for arm, arm_finals in finals.items():
        if not arm_finals:
            continue
        res = ArmResult(arm, sorted(arm_finals))
        for m in metrics:
            key = METRICS[m]
            # a metric a run could not define (no detection matched any object) is left out
            have = [s for s in res.seeds if arm_finals[s].get(key) is not None]
            res.metrics[m] = mean_ci(100 * arm_finals[s][key] for s in have)
            res.plateau[m] = last_epochs({s: arm_finals[s] for s in have}, key)
            common = [s for s in have if base.get(s, {}).get(key) is not None]
            if baseline is not None and arm != baseline and common:
                res.paired[m] = mean_ci(100 * (arm_finals[s][key] - base[s][key]) for s in common)
                res.p_raw[m] = paired_t_pvalue(res.paired[m]["values"])
        ratios = [arm_finals[s]["grad_ratio"] for s in res.seeds if arm_finals[s].get("grad_ratio") is not None]
        res.grad_ratio = float(np.mean(ratios)) if ratios else None
        minutes = [arm_finals[s]["wall_minutes"] for s in res.seeds if arm_finals[s].get("wall_minutes") is not None]
        res.wall_minutes = mean_ci(minutes) if minutes else None
        res.runs = {s: {k: arm_finals[s].get(k) for k in ("history", "train_log", "wall_minutes")} for s in res.seeds}
        results.append(res)
    for m in metrics:  # one family per metric: every arm compared with the baseline
        compared = [r for r in results if m in r.p_raw]
        for r, p in zip(compared, holm([r.p_raw[m] for r in compared])):
            r.p_holm[m] = p
            r.verdict[m] = verdict(r.paired[m]["values"], p, EQUIVALENCE_MARGIN, min_pairs=claim_seeds)
    return results


def results_json(results: list[ArmResult], baseline: Optional[Arm], claim_seeds: int = 2) -> dict:
    return {"baseline": baseline.label if baseline else None, "primary_metric": "acc",
            "equivalence_margin": EQUIVALENCE_MARGIN, "claim_seeds": claim_seeds, "std": "sample (ddof 1)",
            "arms": [{"arm": r.arm.label, "folder": r.arm.folder, "seeds": r.seeds, "metrics": r.metrics,
                      "paired_vs_baseline": r.paired, "p_raw": r.p_raw, "p_holm": r.p_holm, "verdict": r.verdict,
                      "last_3_epochs": r.plateau, "grad_ratio": r.grad_ratio, "wall_minutes": r.wall_minutes,
                      "runs": r.runs} for r in results]}
