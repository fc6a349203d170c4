"""Functional core of the hypersphere loss (paper eqs. 15-17).

Shapes: R sampled RoIs, d feature size, K centers (K = C foreground classes, or
C + 1 when a background center is kept; ``label_offset`` maps a label y to the
center row y - offset: 1 for foreground-only centers, 0 with a background center).
``features`` [R, d] (box-head output), ``labels`` [R] int64 in 0..C,
``centers`` [K, d] float32.

Everything here is vectorized and free of host syncs: no boolean indexing (it has a
data-dependent shape), no ``.item()``; RoIs without a center are masked out by weights
and routed to a discarded extra row of the class sums instead. The cost is O(R d + K d)
whatever the number of classes K: each RoI meets only its own center (a gather), and
the class sums are an ``index_add_`` (no [R, K] one-hot product, no [R, K] distances).
With more centers than RoIs, ``hypersphere_present`` updates only the present rows.
"""
from __future__ import annotations

import torch
from torch import Tensor


def center_index(labels: Tensor, label_offset: int) -> tuple[Tensor, Tensor]:
    """(row of each RoI's center clamped into range, float mask of RoIs that have one)."""
    has_center = labels >= label_offset
    return (labels - label_offset).clamp_(min=0), has_center


def squared_distance_to_centers(features: Tensor, centers: Tensor, index: Tensor | None) -> Tensor:
    """||f_i - c_{idx_i}||^2 for every RoI: O(R d), each RoI against its own center only.

    The gathered [R, d] rows are a temporary of the features' size, freed on return;
    ``index=None`` means ``centers`` already holds row i's center in row i.
    """
    own = centers if index is None else centers.index_select(0, index)
    return (features - own).square().sum(dim=1)


NORMALIZATIONS = ("foreground", "elements")
POWERS = (2, 4)


class _CenterPenalty(torch.autograd.Function):
    """lambda/(2m) sum_i o_i ||f_i - c_{idx_i}||^p with a hand-written backward (eq. 17).

    m is the number of RoIs with a center (``normalize_by="foreground"``, eq. 17's text)
    or the number of feature elements R * d, background RoIs included
    (``"elements"``, the authors' code: ``sum(...) / (2 * feat.numel())``).
    p is 2 (eq. 17 as printed) or 4 (the authors' code squares ``indicate1 * dists``,
    which is already ||f - c||^2, so its sum runs over ||f - c||^4).

    With o_i = 1(||f_i - c|| beyond eps*a) for RoIs that have a center (0 otherwise), the
    gradient is d/df_i = (lambda/(2m)) p ||f_i - c||^(p-2) o_i (f_i - c_{idx_i}): one
    gather of the RoIs' centers and one fused multiply, O(R d) at any K, instead of
    autograd's chain of [R, d] temporaries. Saved for backward: the features autograd
    keeps anyway, the centers (K d) and two [R] vectors.
    """

    @staticmethod
    def forward(ctx, features, centers, index, has_center, dead_zone, weight, normalize_by, power):
        # index None: ``centers`` are already the RoIs' own rows [R, d]
        dist_sq = squared_distance_to_centers(features, centers, index)
        if power == 4:
            # the authors' gCL: torch.where(dists > thres, 1, 0), strictly beyond the dead zone
            outside = (dist_sq > dead_zone * dead_zone) & has_center
        else:
            # eq. 11: iota(.) = 0 inside the feature sphere of radius eps*a, 1 on or outside it
            outside = (dist_sq >= dead_zone * dead_zone) & has_center
        if normalize_by == "elements":
            m = float(max(1, features.numel()))  # a shape, known on the host: no sync
        else:
            m = has_center.sum().clamp(min=1).to(dist_sq.dtype)
        coef = outside.to(dist_sq.dtype) * (weight / m)
        if power == 4:
            # value 1/2 coef d^4; gradient 2 coef d^2 (f - c): the d^2 factor is saved in coef
            ctx.save_for_backward(features, centers, index, 2.0 * coef * dist_sq)
            return 0.5 * torch.dot(coef * dist_sq, dist_sq)
        ctx.save_for_backward(features, centers, index, coef)
        return 0.5 * torch.dot(coef, dist_sq)

    @staticmethod
    def backward(ctx, grad_output):
        features, centers, index, coef = ctx.saved_tensors
        if not ctx.needs_input_grad[0]:
            return (None,) * 8
        g = (coef * grad_output)[:, None]
        own = centers if index is None else centers.index_select(0, index)
        grad = (features - own).mul_(g)
        return grad, None, None, None, None, None, None, None


def hypersphere_penalty(
    features: Tensor,
    labels: Tensor,
    centers: Tensor,
    dead_zone: float,
    weight: float,
    label_offset: int = 1,
    normalize_by: str = "foreground",
    power: int = 2,
) -> Tensor:
    """Generalized center penalty of eq. 17 (without the CE term).

        lambda / (2 m) * sum_i [ 1(||f_i - c_{y_i}|| >= eps*a) * ||f_i - c_{y_i}|| ]^2     (power 2)
        lambda / (2 m) * sum_i   1(||f_i - c_{y_i}|| >  eps*a) * ||f_i - c_{y_i}||^4       (power 4)

    summed over the RoIs that have a center; ``dead_zone`` is eps*a. ``power=2`` is eq. 17
    as printed; ``power=4`` is what the authors' code computes (``gCL``:
    ``sum((indicate1 * dists) ** 2)`` with ``indicate1 = 1(dists > thres) * dists``), with
    its strict ``>``. At distances around r = 40 the quartic term is ~d^2 = 1,600 times the
    square (README, "How we read the paper"). The denominator (eq. 17: "m, the mini-batch
    size") has two readings, chosen by ``normalize_by``:
      - ``"foreground"``: m = the number of RoIs that carry a center (eq. 17's text);
      - ``"elements"``: m = R * d, every sampled RoI (background included) times the
        feature size, as the authors' code divides (``2 * feat.numel()``); relative to
        ``"foreground"`` this is about R/m_fg * d (~4 d in detection) times weaker.
    With no RoI to penalize the result is an exact 0 that stays in the graph. Centers
    are constants here (eq. 17: "all c_{y_i} are known"); they are copied, so a later
    in-place center update cannot invalidate this term's backward (gradient accumulation):
    all K rows when K <= R, else only the R rows the RoIs use (what backward needs).
    """
    if normalize_by not in NORMALIZATIONS:
        raise ValueError(f"normalize_by must be one of {NORMALIZATIONS}, got {normalize_by!r}")
    if power not in POWERS:
        raise ValueError(f"power must be one of {POWERS} (2: eq. 17 as printed, 4: the authors' code), got {power!r}")
    index, has_center = center_index(labels, label_offset)
    if centers.shape[0] > features.shape[0]:
        # more centers than RoIs: copy only the R rows the RoIs use (O(R d), not O(K d))
        return _CenterPenalty.apply(features, centers.detach().index_select(0, index), None, has_center,
                                    dead_zone, weight, normalize_by, power)
    return _CenterPenalty.apply(features, centers.detach().clone(), index, has_center, dead_zone, weight,
                                normalize_by, power)


def class_sums(
    features: Tensor, labels: Tensor, num_centers: int, label_offset: int = 1
) -> tuple[Tensor, Tensor]:
    """Per-center feature sums [K, d] and counts [K] (float32) in one pass over the features.

    ``index_add_`` into K + 1 rows, RoIs without a center going to the extra last row that
    is then dropped (no boolean indexing, no mask product): O(R d + K d). On CUDA float
    ``index_add_`` adds with atomics in no fixed order; when
    ``torch.are_deterministic_algorithms_enabled()`` the sums are instead a one-hot
    [K, R] x [R, d] product, bit-reproducible at O(R K d).
    """
    index, has_center = center_index(labels, label_offset)
    f = features.detach().float()
    if f.is_cuda and torch.are_deterministic_algorithms_enabled():
        onehot = f.new_zeros(num_centers, f.shape[0]).scatter_(0, index[None], has_center[None].to(f.dtype))
        return onehot @ f, onehot.sum(dim=1)
    rows = torch.where(has_center, index, num_centers)
    sums = f.new_zeros(num_centers + 1, f.shape[1]).index_add_(0, rows, f)
    counts = f.new_zeros(num_centers + 1).index_add_(0, rows, torch.ones_like(rows, dtype=f.dtype))
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
    so we use t = N_c + 1 (N_c = completed updates). ``num_updates`` is a scalar (the
    paper's global N_c) or a [K] vector (a per-class N_c: the updates in which class k
    was present; see ``HypersphereLoss(bias_correction=...)``). Summing v_i over class k only
    needs the class sum of f and its count: sum v_i = (phi n_k c_k + (1-phi) F_k) / (1-phi^t).
    The separation term sum_{l != k} c_l = (sum_l c_l) - c_k is computed once.
    """
    k = centers.shape[0]
    t = (num_updates + 1).to(centers.dtype)
    if t.dim() == 1:  # per-class N_c: one bias correction per center row
        t = t[:, None]
    # pow(scalar, tensor): phi^t computed where t lives, no host-to-device copy of phi
    bias_correction = 1.0 / (1.0 - torch.pow(phi, t))
    sum_v = bias_correction * (phi * counts[:, None] * centers + (1.0 - phi) * sums)
    others = centers.sum(dim=0, keepdim=True) - centers
    separation = (beta / (k - 1)) * others if k > 1 else torch.zeros_like(centers)
    s = sum_v - counts[:, None] * separation
    norm = torch.linalg.vector_norm(s, dim=1, keepdim=True).clamp(min=torch.finfo(s.dtype).tiny)
    present = (counts > 0)[:, None]
    return torch.where(present, radius * s / norm, centers)
