"""How strong is each form of the hypersphere penalty? HL/CE gradient ratios at one model state.

Shapes: N images per batch, R sampled RoIs, d box-feature size. For one detector state (a
trained checkpoint) and the same batches, every form gets a copy of the model converted to
it, runs ``settle`` training forwards to let its EWMA centers form (weights untouched: no
optimizer step), then ``measure`` forwards that record ``||dL_HL/df|| / ||dL_CE/df||`` at the
box features (``roi_heads.extra_to_ce_grad_ratio``). Every form sees the same images and the
same RoI samples (torch's RNG is reseeded per form), so the ratios compare strengths alone:
eq. 17's square against the authors' quartic, m = foreground RoIs against m = R * d.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Iterable, Sequence

import torch
from torch import nn

from ..convert import convert_to_hypersphere, revert_to_torchvision

# label -> (loss name, options): the forms README's "How we read the paper" compares
FORMS: dict[str, tuple[str, dict]] = {
    "hl square, elements, lambda 0.002 (eq. 17 as printed)": ("hl", {"power": 2, "normalize_by": "elements", "weight": 0.002}),
    "hl square, foreground, lambda 0.002 (eq. 17's text)": ("hl", {"power": 2, "normalize_by": "foreground", "weight": 0.002}),
    "hl quartic, elements, lambda 0.002": ("hl", {"power": 4, "normalize_by": "elements", "weight": 0.002}),
    "hl quartic, elements, lambda 0.003 (our default)": ("hl", {"power": 4, "normalize_by": "elements", "weight": 0.003}),
    "hl_authors_code (quartic, per-image centers, lambda 0.003)": ("hl_authors_code", {}),
}


@dataclass
class Strength:
    label: str
    loss: str
    options: dict
    ratios: list[float]

    @property
    def mean(self) -> float:
        return sum(self.ratios) / len(self.ratios)


def grad_ratios(model: nn.Module, batches: Sequence, loss: str, options: dict, settle: int = 10,
                seed: int = 0) -> list[float]:
    """HL/CE gradient ratios of ``model`` converted to ``loss(**options)``, one per batch after
    the first ``settle`` (which only form the centers). ``model`` itself is not changed."""
    form = revert_to_torchvision(copy.deepcopy(model))
    convert_to_hypersphere(form, loss, **{**options, "warmup_steps": 0})
    form.train()
    heads = form.roi_heads
    torch.manual_seed(seed)  # the same RoI samples for every form
    ratios = []
    for i, (images, targets) in enumerate(batches):
        heads.measure_grad_ratio = i >= settle
        form(images, targets)  # a training forward: centers update, the ratio is measured
        if i >= settle:
            ratios.append(float(heads.last_grad_ratio))
    if not ratios:
        raise ValueError(f"need more than settle={settle} batches to measure, got {len(batches)}")
    return ratios


def compare_strengths(model: nn.Module, batches: Sequence, forms: dict[str, tuple[str, dict]] = FORMS,
                      settle: int = 10, seed: int = 0) -> list[Strength]:
    return [Strength(label, loss, options, grad_ratios(model, batches, loss, options, settle, seed))
            for label, (loss, options) in forms.items()]


def format_strengths(rows: Iterable[Strength], reference: str | None = None) -> str:
    """A markdown table: mean, min, max ratio, and the factor to ``reference``'s mean."""
    rows = list(rows)
    ref = next((r.mean for r in rows if r.label == reference), None)
    lines = ["| form | HL/CE grad ratio (mean) | min | max | x " + (reference or "-") + " |", "|---|---|---|---|---|"]
    for r in rows:
        factor = f"{r.mean / ref:.3g}" if ref else "-"
        lines.append(f"| {r.label} | {r.mean:.3g} | {min(r.ratios):.3g} | {max(r.ratios):.3g} | {factor} |")
    return "\n".join(lines)
