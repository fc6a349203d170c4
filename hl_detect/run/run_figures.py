"""The run folder's pictures: ``confusion_matrix.png`` and ``learning_curve.png``, and the
same images in TensorBoard (``figures/confusion_matrix``, ``figures/learning_curve``).

* confusion matrix: the box-classification confusion of the last evaluation
  (``result["confusion_matrix"]``, evaluation/box_accuracy.py: rows the true class, columns
  the predicted one, over the objects whose best box has IoU >= 0.5), coloured by row share so
  rare classes read as well as common ones; counts are written in the cells while they fit.
* learning curve: the run's history as the checkpoint keeps it: the epoch means of every
  loss term (``train_log``) and AP@0.5 / box accuracy of each evaluated epoch (``history``).
  Per-step losses are in TensorBoard's scalars; the history holds epochs.

Each figure is drawn once, into PNG bytes: the file and the TensorBoard image are the same
picture. matplotlib's object API (no pyplot): no global figure state, no GUI backend.
"""
from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..atomic_files import write_atomic

CONFUSION_PNG = "confusion_matrix.png"
LEARNING_CURVE_PNG = "learning_curve.png"
NAMED_TICKS_UP_TO = 60  # class names on the axes up to this many classes; beyond, unreadable anyway
COUNTS_UP_TO = 25  # counts in the cells up to this many classes


def confusion_figure(matrix, class_names: Sequence[str]):
    from matplotlib.figure import Figure

    counts = np.asarray(matrix, dtype=np.int64).reshape(len(class_names), len(class_names))
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape, dtype=float), where=rows > 0)
    side = min(16.0, max(5.0, 0.3 * len(class_names) + 2.5))
    fig = Figure(figsize=(side, side))
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class's counted objects")
    if len(class_names) <= NAMED_TICKS_UP_TO:
        ticks = np.arange(len(class_names))
        ax.set_xticks(ticks, labels=class_names, rotation=90, fontsize=7)
        ax.set_yticks(ticks, labels=class_names, fontsize=7)
    if len(class_names) <= COUNTS_UP_TO:
        for (i, j), n in np.ndenumerate(counts):
            if n:
                ax.text(j, i, str(n), ha="center", va="center", fontsize=6, color="white" if share[i, j] > 0.5 else "black")
    total, correct = int(counts.sum()), int(np.trace(counts))
    accuracy = f"{100 * correct / total:.1f} %" if total else "n/a"
    ax.set_title(f"box classification: {correct} of {total} counted objects right ({accuracy})", fontsize=9)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    fig.tight_layout()
    return fig


def learning_curve_figure(train_log: Sequence[dict], history: Sequence[dict]):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.5))
    losses, metrics = fig.subplots(1, 2)
    terms = sorted({k for row in train_log for k in row if k.startswith("loss")})
    values = []
    for term in terms:
        points = [(row["epoch"], row[term]) for row in train_log if _finite(row.get(term))]
        if points:
            losses.plot(*zip(*points), marker="o", label=term.removeprefix("loss_"))
            values += [v for _, v in points]
    if values and min(values) > 0:  # terms differ by orders of magnitude (HL's is ~1e-3): each visible
        losses.set_yscale("log")
    losses.set_title("training loss terms (epoch means)", fontsize=9)
    losses.set_xlabel("epoch")
    for key, label in (("mAP50_area", "AP@0.5 (area)"), ("box_accuracy", "box accuracy")):
        points = [(row["epoch"], 100 * row[key]) for row in history if _finite(row.get(key))]
        if points:
            metrics.plot(*zip(*points), marker="o", label=label)
    metrics.set_title("evaluation (%)", fontsize=9)
    metrics.set_xlabel("epoch")
    for ax in (losses, metrics):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)  # epochs, not 0.5 steps
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def png_bytes(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def write_run_figures(out_dir, result: dict, train_log: Sequence[dict], history: Sequence[dict],
                      class_names: Sequence[str], writer=None, step: Optional[int] = None) -> list[Path]:
    """Write both PNGs into ``out_dir`` (atomically: a reader never sees half a picture) and,
    with a ``writer``, log them to TensorBoard at ``step``; returns the files written."""
    figures = {LEARNING_CURVE_PNG: learning_curve_figure(train_log, history)}
    if result.get("confusion_matrix") is not None and class_names:
        figures[CONFUSION_PNG] = confusion_figure(result["confusion_matrix"], class_names)
    written = []
    for name, fig in figures.items():
        data = png_bytes(fig)
        written.append(write_atomic(Path(out_dir) / name, lambda handle: handle.write(data)))
        if writer is not None:
            from PIL import Image

            picture = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
            writer.add_image(f"figures/{Path(name).stem}", picture, step, dataformats="HWC")
    return written
