"""Loss studies: arms x paired seeds, mean +- 95 % CI, paired differences, sweep plots.

An *arm* is one training recipe: a loss name plus config overrides. Written as
``LOSS`` or ``LOSS[key=value,key=value]``; a key without a dot is a top-level config key
when configs/base.yaml has one of that name (``lr``, ``epochs``, ...) and otherwise an
option of the loss (``loss_options.<LOSS>.key``; for a composed loss such as
``cosface+hl``, of its last part); a dotted key is any config key::

    hl[normalize_by=elements,weight=0.02]      cosface+hl[weight=0.2]      softmax[lr=5e-4]

A sweep ``loss_options.hl.weight=0.002,0.02`` turns every arm whose loss uses that
options block (``hl``, ``cosface+hl``, ...) into one arm per value. Runs live in
``<out>/<arm folder>/seed<k>``; a plain arm's folder is its loss name.

Statistics (per arm, over its finished seeds): mean and the 95 % confidence half-width
t_{0.975, n-1} * s / sqrt(n) (s: sample std, ddof 1, as every table here). Against the
baseline arm, on the seeds both finished (paired: a seed fixes the initialization and the
data order for every arm), the mean paired difference and its 95 % CI the same way, its
paired t-test p-value Holm-corrected across the arms of the study, and a verdict (better /
worse / equivalent within +-margin by TOST / undecided: hl_detect/studies/statistics.py).
Box accuracy is the primary metric, fixed before the runs; AP50 is reported beside it.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import ConfigError
from ..losses.registry import loss_parts
from ..stats import mean_ci
from .statistics import holm, paired_t_pvalue, verdict

#: equivalence margin (points) for "no harm" claims: a TOST inside +-2 points
EQUIVALENCE_MARGIN = 2.0

METRICS = {"ap50": "mAP50_area", "ap50_voc07": "mAP50_voc07", "acc": "box_accuracy"}


@lru_cache(maxsize=1)
def _top_level_keys() -> frozenset:
    import yaml

    from ..run.config import CONFIG_DIR

    return frozenset(yaml.safe_load((CONFIG_DIR / "base.yaml").read_text()))


@dataclass(frozen=True)
class Arm:
    loss: str
    options: tuple = ()  # ((short key, value), ...) as written, in order

    def full_key(self, key: str) -> str:
        """A short option key -> its config key (``weight`` -> ``loss_options.hl.weight``)."""
        if "." in key or key in _top_level_keys():
            return key
        return f"loss_options.{loss_parts(self.loss)[-1]}.{key}"

    @property
    def overrides(self) -> dict[str, str]:
        """Full config keys -> values (strings, parsed as YAML by the config loader)."""
        return {self.full_key(k): v for k, v in self.options}

    def without(self, key: str) -> "Arm":
        """This arm minus the option that sets config key ``key``."""
        return Arm(self.loss, tuple((k, v) for k, v in self.options if self.full_key(k) != key))

    @property
    def label(self) -> str:
        if not self.options:
            return self.loss
        return f"{self.loss}[{','.join(f'{k}={v}' for k, v in self.options)}]"

    @property
    def folder(self) -> str:
        """A file-system-safe folder name; a plain arm's is its loss name."""
        if not self.options:
            return self.loss
        parts = [self.loss] + [f"{k.rsplit('.', 1)[-1] if k.startswith('loss_options.') else k}-{v}" for k, v in self.options]
        return re.sub(r"[^A-Za-z0-9_.+=-]", "_", "__".join(parts))

    def option(self, key: str) -> Optional[str]:
        """The value this arm sets for a full config key, or None."""
        return self.overrides.get(key)


def parse_arm(spec: str) -> Arm:
    """``"hl[weight=0.02,normalize_by=elements]"`` -> Arm; the loss name is checked."""
    match = re.fullmatch(r"\s*([A-Za-z0-9_+]+)\s*(?:\[(.*)\])?\s*", spec)
    if not match:
        raise ConfigError(f"arm {spec!r}: write LOSS or LOSS[key=value,...]")
    loss, body = match.group(1), match.group(2)
    loss_parts(loss)  # unknown names fail here, with the list of known ones
    options = []
    for item in filter(None, (s.strip() for s in (body or "").split(","))):
        if "=" not in item:
            raise ConfigError(f"arm {spec!r}: {item!r} is not key=value")
        key, value = (s.strip() for s in item.split("=", 1))
        options.append((key, value))
    return Arm(loss, tuple(options))


def parse_sweep(spec: str) -> tuple[str, list[str]]:
    """``"loss_options.hl.weight=0.002,0.02"`` -> (key, ["0.002", "0.02"])."""
    if "=" not in spec:
        raise ConfigError(f"sweep {spec!r}: write KEY=V1,V2,...")
    key, values = spec.split("=", 1)
    values = [v.strip() for v in values.split(",") if v.strip()]
    if not values:
        raise ConfigError(f"sweep {spec!r} has no values")
    return key.strip(), values


def _uses(arm: Arm, key: str) -> bool:
    parts = key.split(".")
    if parts[0] != "loss_options":
        return True  # a general config key applies to every arm
    return len(parts) > 2 and parts[1] in loss_parts(arm.loss)


def expand_sweeps(arms: list[Arm], sweeps: list[tuple[str, list[str]]]) -> list[Arm]:
    """Each sweep multiplies the arms that use its key (and do not already set it)."""
    for key, values in sweeps:
        out = []
        for arm in arms:
            if not _uses(arm, key) or arm.option(key) is not None:
                out.append(arm)
                continue
            prefix = f"loss_options.{loss_parts(arm.loss)[-1]}."
            short = key[len(prefix):] if key.startswith(prefix) else key
            out += [Arm(arm.loss, arm.options + ((short, v),)) for v in values]
        arms = out
    # the same recipe listed twice is trained once
    return list(dict.fromkeys(arms))


def run_folder(out_dir: Path, arm: Arm, seed: int) -> Path:
    """Where one (arm, seed) run lives: ``<out>/<arm folder>/seed<k>``."""
    return Path(out_dir) / arm.folder / f"seed{seed}"


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
                  metrics=("ap50", "acc")) -> list[ArmResult]:
    """The study over the run folders in ``out_dir`` (each finished run's metrics.json)."""
    finals = {arm: load_finals(out_dir, arm, seeds) for arm in arms}
    base = load_finals(out_dir, baseline, seeds) if baseline is not None else {}
    return results_from_finals(finals, base, baseline, metrics)


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
                        metrics=("ap50", "acc")) -> list[ArmResult]:
    """Per arm: mean ± CI, the paired difference to ``base`` (the baseline's finals), its
    Holm-adjusted p-value and verdict, the plateau, wall minutes and the runs' curves."""
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
            r.verdict[m] = verdict(r.paired[m]["values"], p, EQUIVALENCE_MARGIN)
    return results


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
    if markdown:
        return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                         + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(zip(r, widths)))
    return "\n".join([line(header), "-" * len(line(header))] + [line(r) for r in rows])


def results_json(results: list[ArmResult], baseline: Optional[Arm]) -> dict:
    return {"baseline": baseline.label if baseline else None, "primary_metric": "acc",
            "equivalence_margin": EQUIVALENCE_MARGIN, "std": "sample (ddof 1)",
            "arms": [{"arm": r.arm.label, "folder": r.arm.folder, "seeds": r.seeds, "metrics": r.metrics,
                      "paired_vs_baseline": r.paired, "p_raw": r.p_raw, "p_holm": r.p_holm, "verdict": r.verdict,
                      "last_3_epochs": r.plateau, "grad_ratio": r.grad_ratio, "wall_minutes": r.wall_minutes,
                      "runs": r.runs} for r in results]}


def plot_sweep(results: list[ArmResult], key: str, path: Path, references: Optional[list[ArmResult]] = None,
               title: str = "") -> Optional[Path]:
    """Box accuracy and AP50 against the swept ``key`` (log x), mean ± 95 % CI error bars.

    Top row: the values; arms that differ only in ``key`` form one line, ``references``
    (arms without the key, e.g. softmax, CosFace) are horizontal bands of mean ± CI.
    Bottom row: the paired difference to the baseline with its CI (seed noise shared by
    both arms cancels there), references as points at the left edge."""
    series: dict[str, list[tuple[float, ArmResult]]] = {}
    for r in results:
        value = r.arm.option(key)
        if value is None:
            continue
        series.setdefault(r.arm.without(key).label, []).append((float(value), r))
    if not series:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, grid = plt.subplots(2, 2, figsize=(11, 8))
    axes = grid[0]
    for ax, metric, name in ((axes[0], "acc", "box accuracy (%)"), (axes[1], "ap50", "AP@0.5 (%)")):
        xs_all = [x for pts in series.values() for x, _ in pts]
        for i, ref in enumerate(references or []):
            stat = ref.metrics.get(metric)
            if not stat or stat["n"] == 0:
                continue
            color = f"C{(i + len(series)) % 10}"
            ci = 0.0 if math.isnan(stat["ci"]) else stat["ci"]
            ax.axhspan(stat["mean"] - ci, stat["mean"] + ci, color=color, alpha=0.15)
            ax.axhline(stat["mean"], color=color, linestyle="--", label=f"{ref.arm.label} (n={stat['n']})")
        for i, (label, pts) in enumerate(sorted(series.items())):
            pts.sort(key=lambda p: p[0])
            xs = [x for x, _ in pts]
            ys = [r.metrics[metric]["mean"] for _, r in pts]
            es = [0.0 if math.isnan(r.metrics[metric]["ci"]) else r.metrics[metric]["ci"] for _, r in pts]
            ns = sorted({r.metrics[metric]["n"] for _, r in pts})
            ax.errorbar(xs, ys, yerr=es, marker="o", capsize=4, color=f"C{i}", label=f"{label} (n={'/'.join(map(str, ns))})")
        if min(xs_all) > 0:
            ax.set_xscale("log")
        low, high = ax.get_ylim()
        ax.set_ylim(max(low, 0.0), min(high, 100.0))  # percentages; longer error bars are clipped
        ax.set_xlabel(key)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="best")
    for ax, metric, name in ((grid[1][0], "acc", "Δ box accuracy vs baseline (points)"),
                             (grid[1][1], "ap50", "Δ AP@0.5 vs baseline (points)")):
        ax.axhline(0.0, color="black", linewidth=0.8)
        xs_all = [x for pts in series.values() for x, _ in pts]
        left = min(xs_all) / 3 if min(xs_all) > 0 else min(xs_all) - 1
        for i, ref in enumerate(references or []):
            stat = ref.paired.get(metric)
            if stat and stat["n"]:
                ci = 0.0 if math.isnan(stat["ci"]) else stat["ci"]
                ax.errorbar([left], [stat["mean"]], yerr=[ci], marker="s", capsize=4,
                            color=f"C{(i + len(series)) % 10}", label=f"{ref.arm.label} (n={stat['n']})")
        for i, (label, pts) in enumerate(sorted(series.items())):
            pts = [(x, r) for x, r in sorted(pts, key=lambda p: p[0]) if r.paired.get(metric, {}).get("n")]
            if not pts:
                continue
            es = [0.0 if math.isnan(r.paired[metric]["ci"]) else r.paired[metric]["ci"] for _, r in pts]
            ax.errorbar([x for x, _ in pts], [r.paired[metric]["mean"] for _, r in pts], yerr=es, marker="o",
                        capsize=4, color=f"C{i}", label=label)
        if min(xs_all) > 0:
            ax.set_xscale("log")
        ax.set_xlabel(key)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    grid[1][0].legend(fontsize=7, loc="best")
    fig.suptitle(title or f"{name} vs {key}: mean ± 95 % CI over seeds", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
