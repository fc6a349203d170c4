"""The loss study's picture: each HL arm placed by its measured strength, not by its lambda.

x: the arm's HL/CE gradient ratio at the box features (log scale; ``ArmResult.grad_ratio``), so
arms with different powers, denominators and lambdas share one axis; y: the paired difference
to the baseline (box accuracy left, AP50 right) with its 95 % CI, each point numbered, the
numbers keyed to arm and sample size in the legend. Arms without an HL term (CosFace, MML, ...) are drawn as horizontal bands
of their paired difference. Legends sit below the axes, off the data.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional


def plot_by_grad_ratio(results, path: Path, title: str = "") -> Optional[Path]:
    placed = [r for r in results if r.grad_ratio and r.paired]
    if not placed:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 6.5))
    others = [r for r in results if not r.grad_ratio and r.paired]
    for ax, metric, name in ((axes[0], "acc", "Δ box accuracy vs baseline (points)"),
                             (axes[1], "ap50", "Δ AP@0.5 vs baseline (points)")):
        ax.axhline(0.0, color="black", linewidth=0.8)
        for i, r in enumerate(others):
            stat = r.paired.get(metric)
            if not stat:
                continue
            ci = 0.0 if math.isnan(stat["ci"]) else stat["ci"]
            color = f"C{(i + 1) % 10}"
            ax.axhspan(stat["mean"] - ci, stat["mean"] + ci, color=color, alpha=0.10)
            ax.axhline(stat["mean"], color=color, linestyle="--", linewidth=1, label=f"{r.arm.label} (n={stat['n']})")
        for number, r in enumerate(sorted(placed, key=lambda r: r.grad_ratio), start=1):
            stat = r.paired.get(metric)
            if not stat:
                continue
            ci = 0.0 if math.isnan(stat["ci"]) else stat["ci"]
            ax.errorbar([r.grad_ratio], [stat["mean"]], yerr=[ci], marker="o", capsize=4, color="C0",
                        label=f"{number}: {r.arm.label} (n={stat['n']})")
            ax.annotate(str(number), (r.grad_ratio, stat["mean"]), textcoords="offset points", xytext=(5, 3), fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("HL/CE gradient ratio at the box features (measured, log)")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:  # dashed bands: arms without an HL term; numbered points: HL arms by strength
        fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=7, frameon=False)
    rows = math.ceil(len(handles) / 2)
    fig.suptitle(title or "paired difference to the baseline against HL strength (mean ± 95 % CI)", fontsize=10)
    fig.tight_layout(rect=(0, min(0.45, 0.035 * rows + 0.02), 1, 0.96))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
