"""The sweep picture: box accuracy and AP50 against a swept config key, mean +- 95 % CI."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

from .results import ArmResult


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
