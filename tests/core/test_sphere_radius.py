"""The feature-sphere radius a against closed forms (d = 2, 3) and Monte Carlo."""
import math

import numpy as np
import pytest

from hl_detect.losses.sphere_radius import cap_angle, feature_sphere_radius


@pytest.mark.parametrize("num_classes", [3, 5, 20, 113])
def test_circle_closed_form(num_classes):
    # d = 2: the "cap" is an arc, fraction theta/pi, so theta* = pi/C
    assert cap_angle(2, num_classes) == pytest.approx(math.pi / num_classes, rel=1e-10)
    assert feature_sphere_radius(2, num_classes, 40.0) == pytest.approx(40 * math.sin(math.pi / num_classes))


@pytest.mark.parametrize("num_classes", [3, 5, 20, 113])
def test_sphere_closed_form(num_classes):
    # d = 3 (Archimedes): cap area fraction is (1 - cos theta)/2
    theta = cap_angle(3, num_classes)
    assert (1 - math.cos(theta)) / 2 == pytest.approx(1 / num_classes, rel=1e-10)


@pytest.mark.parametrize("dim, num_classes", [(5, 7), (8, 20)])
def test_monte_carlo_cap_fraction(dim, num_classes):
    rng = np.random.default_rng(0)
    points = rng.standard_normal((400_000, dim))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    theta = cap_angle(dim, num_classes)
    fraction = np.mean(points[:, 0] >= math.cos(theta))
    # binomial standard error at n=4e5 is < 7e-4; allow 4 of them
    assert fraction == pytest.approx(1 / num_classes, abs=3e-3)


def test_paper_setting_value():
    # spec: d = 2048, C = 20, r = 40 gives a ~= 39.97, eps * a ~= 2.0
    a = feature_sphere_radius(2048, 20, 40.0)
    assert a == pytest.approx(39.97, abs=0.01)
    assert 0.05 * a == pytest.approx(2.0, abs=0.01)


def test_two_or_fewer_classes_saturate_at_r():
    assert feature_sphere_radius(64, 2, 40.0) == pytest.approx(40.0)
    assert feature_sphere_radius(64, 1, 40.0) == pytest.approx(40.0)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError):
        cap_angle(1, 5)
    with pytest.raises(ValueError):
        cap_angle(8, 0)
