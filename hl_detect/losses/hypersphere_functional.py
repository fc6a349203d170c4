"""Functional core of the hypersphere loss (paper eqs. 15-17).

Shapes: R sampled RoIs, d feature size, K centers (K = C foreground classes, or
C + 1 when a background center is kept; ``label_offset`` maps a label y to the
center row y - offset: 1 for foreground-only centers, 0 with a background center).
``features`` [R, d] (box-head output), ``labels`` [R] int64 in 0..C,
``centers`` [K, d] float32.

Everything here is vectorized and free of host syncs: no boolean indexing (it has a
data-dependent shape), no ``.item()``; RoIs without a center are masked out by
weights and scattered into a discarded row instead.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


def center_index(labels: Tensor, label_offset: int) -> tuple[Tensor, Tensor]:
    """(row of each RoI's center clamped into range, float mask of RoIs that have one)."""
    has_center = labels >= label_offset
    return (labels - label_offset).clamp_(min=0), has_center


def squared_distance_to_centers(features: Tensor, centers: Tensor, index: Tensor) -> Tensor:
    """||f_i - c_{idx_i}||^2 for every RoI, as ||f||^2 - 2 f.c + ||c||^2.

    The expansion needs an [R, K] product instead of an [R, d] difference, so the
    backward keeps no copy of the feature matrix beyond the one autograd has anyway.
    """
    f_sq = features.pow(2).sum(dim=1)
    f_dot_c = (features @ centers.t()).gather(1, index[:, None]).squeeze(1)
    c_sq = centers.pow(2).sum(dim=1)[index]
    return (f_sq - 2.0 * f_dot_c + c_sq).clamp(min=0.0)


def hypersphere_penalty(
    features: Tensor,
    labels: Tensor,
    centers: Tensor,
    dead_zone: float,
    weight: float,
    label_offset: int = 1,
) -> Tensor:
    """Generalized center penalty of eq. 17 (without the CE term).

        lambda / (2 m) * sum_i [ 1(||f_i - c_{y_i}|| >= eps*a) * ||f_i - c_{y_i}|| ]^2

    over the m RoIs that have a center. ``dead_zone`` is eps*a. Interpretation: the
    paper's m is the mini-batch size; in detection we divide by the number of RoIs
    that carry a center (eq. 17). With m = 0 the result is an exact 0 that stays in
    the graph. Centers are constants here (eq. 17: "all c_{y_i} are known").
    """
    centers = centers.detach()
    index, has_center = center_index(labels, label_offset)
    dist_sq = squared_distance_to_centers(features, centers, index)
    # eq. 11: iota(.) = 0 inside the feature sphere of radius eps*a, 1 on or outside it
    outside = (dist_sq >= dead_zone * dead_zone) & has_center
    m = has_center.sum().clamp(min=1).to(dist_sq.dtype)
    return weight / (2.0 * m) * (dist_sq * outside.to(dist_sq.dtype)).sum()


def class_sums(
    features: Tensor, labels: Tensor, num_centers: int, label_offset: int = 1
) -> tuple[Tensor, Tensor]:
    """Per-center feature sums [K, d] and counts [K] (float32) in one scatter pass.

    RoIs without a center go to an extra row that is dropped, so no boolean indexing.
    """
    index, has_center = center_index(labels, label_offset)
    index = torch.where(has_center, index, torch.full_like(index, num_centers))
    f = features.detach().float()
    sums = f.new_zeros(num_centers + 1, f.shape[1]).index_add_(0, index, f)
    counts = f.new_zeros(num_centers + 1).index_add_(0, index, torch.ones_like(index, dtype=f.dtype))
    return sums[:num_centers], counts[:num_centers]


def update_centers(
    centers: Tensor,
    num_updates: Tensor,
    sums: Tensor,
    counts: Tensor,
    radius: float,
    beta: float,
    phi: float,
) -> Tensor:
    """EWMA center update of eqs. 15-16 from per-class sums; returns the new centers.

        v_i = (phi c_{y_i} + (1 - phi) f_i) / (1 - phi^t)                    (eq. 15)
        s_k = sum_{i: y_i = k} ( v_i - beta/(K-1) sum_{l != k} c_l )          (eq. 16)
        c_k <- r s_k / ||s_k||       for classes present; absent ones keep c_k

    Interpretation (eq. 15): the paper's 1/(1 - phi^{N_c}) is infinite at N_c = 0,
    so we use t = N_c + 1 (N_c = completed updates). Summing v_i over class k only
    needs the class sum of f and its count: sum v_i = (phi n_k c_k + (1-phi) F_k) / (1-phi^t).
    The separation term sum_{l != k} c_l = (sum_l c_l) - c_k is computed once.
    """
    k = centers.shape[0]
    t = (num_updates + 1).to(centers.dtype)
    bias_correction = 1.0 / (1.0 - torch.pow(torch.as_tensor(phi, dtype=centers.dtype, device=centers.device), t))
    sum_v = bias_correction * (phi * counts[:, None] * centers + (1.0 - phi) * sums)
    others = centers.sum(dim=0, keepdim=True) - centers
    separation = (beta / (k - 1)) * others if k > 1 else torch.zeros_like(centers)
    s = sum_v - counts[:, None] * separation
    norm = torch.linalg.vector_norm(s, dim=1, keepdim=True).clamp(min=torch.finfo(s.dtype).tiny)
    present = (counts > 0)[:, None]
    return torch.where(present, radius * s / norm, centers)
