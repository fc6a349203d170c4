"""Radius ``a`` of the feature hyperspheres (paper Sec. III-A, Appendix A).

The centers of C classes sit on a "center sphere" of radius r in R^d. A feature
sphere of radius a around a center cuts a spherical cap out of the center sphere;
a is the largest value for which a cap of *base radius* a covers at most 1/C of
the center sphere's area, so the C caps can tile it without overlap.

For a cap of polar angle theta <= pi/2 on the unit sphere S^{d-1}, the area
fraction is  F_d(theta) = 1/2 * I_{sin^2 theta}((d-1)/2, 1/2)  (regularized
incomplete beta). Solving F_d(theta*) = 1/C gives sin^2 theta* directly through
the inverse incomplete beta, and the cap's base radius is a = r * sin theta*.
Checks: d = 2 gives theta* = pi/C; d = 3 gives (1 - cos theta*)/2 = 1/C.
The authors' code hard-codes a = r; we follow the paper's derivation.
"""
from __future__ import annotations

import math

from scipy.special import betaincinv


def cap_angle(dim: int, num_classes: int) -> float:
    """Polar angle theta* (radians, <= pi/2) of a cap covering 1/C of S^{dim-1}."""
    if dim < 2:
        raise ValueError(f"feature dimension must be >= 2, got {dim}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    fraction = 1.0 / num_classes
    if fraction >= 0.5:  # a hemisphere or more: the cap angle saturates at pi/2
        return math.pi / 2
    # F_d(theta) = 1/2 I_x((d-1)/2, 1/2) with x = sin^2(theta)  =>  x = I^{-1}(2/C)
    x = float(betaincinv((dim - 1) / 2.0, 0.5, 2.0 * fraction))
    return math.asin(math.sqrt(min(max(x, 0.0), 1.0)))


def feature_sphere_radius(dim: int, num_classes: int, radius: float) -> float:
    """a = r * sin(theta*): radius of each class's feature hypersphere (Sec. III-A)."""
    return radius * math.sin(cap_angle(dim, num_classes))
