"""The center update of eqs. 15-16 touching only the classes present in the step.

Shapes: R sampled RoIs, d feature size, K centers. ``update_centers`` (the functional
core) rewrites all K rows, about ten passes over [K, d]: at K = 10,000 and d = 2048 that is
more than the penalty and the class sums together. A class absent from the step keeps
its center, so only the rows of present classes need work; this module computes exactly
those, O(R log R + R d) at any K, with static shapes and no host sync:

  - RoIs are grouped by center row with one sort (``segment_slots``): a slot per present
    row, at most R of them, so the class sums live in an [R, d] table, not [K, d];
  - every RoI computes its row's new center from the gathered slot sums (all RoIs of a
    row compute bitwise the same value), and ``index_copy_`` writes them: duplicates
    write equal values, so the result does not depend on which write lands last;
  - the separation term needs sum_l c_l over all K centers; the caller keeps that total
    (float64) and we return its change, the sum over present rows of (new - old).

Single process only: across ranks the class sums are one [K, d + 1] all-reduce, and the
dense ``update_centers`` is used there (``HypersphereLoss.update``).
"""
from __future__ import annotations

import torch
from torch import Tensor

from .hypersphere_functional import center_index


def segment_slots(rows: Tensor) -> tuple[Tensor, Tensor]:
    """(slot [R] in 0..U-1, equal for RoIs of the same row; mask [R] of one RoI per slot)."""
    sorted_rows, order = torch.sort(rows, stable=True)
    starts = torch.ones_like(sorted_rows, dtype=torch.bool)
    starts[1:] = sorted_rows[1:] != sorted_rows[:-1]
    segment = torch.cumsum(starts.to(torch.int64), 0) - 1
    slots = torch.empty_like(segment).scatter_(0, order, segment)
    first = torch.empty_like(starts).scatter_(0, order, starts)
    return slots, first


def present_center_update(
    centers: Tensor,
    num_updates: Tensor,
    features: Tensor,
    labels: Tensor,
    label_offset: int,
    total: Tensor,
    radius: float,
    beta: float,
    phi: float,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Eqs. 15-16 for the present classes, as ``update_centers`` computes them.

    ``num_updates``: the global N_c (scalar) or per-class N_c [K]; ``total``: sum_l c_l [d].
    Returns (rows [R], values [R, d], present [K] bool, change of ``total`` [d] float64);
    ``centers.index_copy_(0, rows, values)`` applies the update (a no-op for RoIs without
    a center, which write their own row's current value only when no RoI has a center).
    """
    k = centers.shape[0]
    num_rois = labels.shape[0]
    index, has_center = center_index(labels, label_offset)
    rows = torch.where(has_center, index, k)  # k: the RoIs without a center, one slot of their own
    slots, first = segment_slots(rows)
    f = features.detach().float()
    slot_sums = f.new_zeros(num_rois, f.shape[1]).index_add_(0, slots, f)
    slot_counts = f.new_zeros(num_rois).index_add_(0, slots, torch.ones_like(f[:, 0]))
    sums = slot_sums.index_select(0, slots)  # [R, d]: the class sum of each RoI's row
    counts = slot_counts.index_select(0, slots)[:, None]
    old = centers.index_select(0, index)
    t = num_updates.index_select(0, index) if num_updates.dim() == 1 else num_updates.expand(num_rois)
    bias_correction = (1.0 / (1.0 - torch.pow(phi, (t + 1).to(f.dtype))))[:, None]
    sum_v = bias_correction * (phi * counts * old + (1.0 - phi) * sums)
    if k > 1:
        s = sum_v - counts * ((beta / (k - 1)) * (total.to(f.dtype)[None, :] - old))
    else:
        s = sum_v
    norm = torch.linalg.vector_norm(s, dim=1, keepdim=True).clamp(min=torch.finfo(s.dtype).tiny)
    new = torch.where(has_center[:, None], radius * s / norm, old)
    # every RoI of a row takes the value of the row's first RoI: the same arithmetic at another
    # position in the batch can round differently (vectorized norms), and index_copy_ keeps
    # whichever duplicate it writes last, so the written row and ``change`` could disagree
    positions = torch.arange(num_rois, device=labels.device)
    first_of_slot = torch.zeros_like(positions).index_copy_(0, slots[first], positions[first])
    new = new.index_select(0, first_of_slot.index_select(0, slots))
    # once per row, and in float64 from the values as stored: a float32 difference rounds (by up to
    # half an ulp of the radius) and the running sum would drift from the centers' own sum
    written = (first & has_center)[:, None]
    change = ((new.to(centers.dtype).double() - old.double()) * written).sum(dim=0)
    # RoIs without a center copy (row, value) from the first RoI that has one: no stray write
    source = torch.where(has_center, positions, torch.argmax(has_center.to(torch.uint8)))
    present = torch.zeros(k + 1, dtype=torch.bool, device=labels.device).index_fill_(0, rows, True)[:k]
    return index.index_select(0, source), new.index_select(0, source), present, change
