"""Penalty (eq. 17) and center update (eqs. 15-16) against slow loops written from the paper."""
import math

import pytest
import torch

from hl_detect.losses.hypersphere_functional import class_sums, hypersphere_penalty, update_centers


def slow_penalty(features, labels, centers, dead_zone, weight, label_offset=1):
    total, m = 0.0, 0
    for f, y in zip(features.tolist(), labels.tolist()):
        if y < label_offset:
            continue
        m += 1
        c = centers[y - label_offset].tolist()
        dist = math.sqrt(sum((a - b) ** 2 for a, b in zip(f, c)))
        indicator = 1.0 if dist >= dead_zone else 0.0  # eq. 11
        total += (indicator * dist) ** 2
    return weight / (2 * m) * total if m else 0.0


def slow_update(centers, num_updates, features, labels, radius, beta, phi, label_offset=1):
    """eq. 15 per sample, eq. 16 per class, with t = N_c + 1; absent classes unchanged."""
    k_total, d = centers.shape
    t = num_updates + 1
    new = centers.clone()
    for k in range(k_total):
        s = torch.zeros(d, dtype=torch.float64)
        present = False
        for f, y in zip(features, labels):
            if int(y) - label_offset != k:
                continue
            present = True
            v = (phi * centers[k].double() + (1 - phi) * f.double()) / (1 - phi**t)
            others = sum((centers[l].double() for l in range(k_total) if l != k), torch.zeros(d, dtype=torch.float64))
            s += v - beta / (k_total - 1) * others
        if present:
            new[k] = (radius * s / s.norm()).float()
    return new


def test_penalty_matches_slow_loop():
    g = torch.Generator().manual_seed(0)
    features = torch.randn(40, 6, generator=g) * 3
    labels = torch.randint(0, 5, (40,), generator=g)
    centers = torch.randn(4, 6, generator=g) * 3
    for dead_zone in (0.0, 3.0, 6.0, 100.0):
        got = hypersphere_penalty(features, labels, centers, dead_zone, weight=0.5)
        expected = slow_penalty(features, labels, centers, dead_zone, 0.5)
        assert got.item() == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_penalty_zero_inside_dead_zone_quadratic_outside():
    centers = torch.tensor([[10.0, 0.0]])
    labels = torch.tensor([1])
    weight, dead_zone = 2.0, 1.0
    values = []
    for dist in (0.0, 0.5, 0.999, 1.0, 2.0, 4.0):
        f = torch.tensor([[10.0 + dist, 0.0]])
        values.append(hypersphere_penalty(f, labels, centers, dead_zone, weight).item())
    assert values[:3] == [0.0, 0.0, 0.0]
    # lambda/(2m) * dist^2 with m = 1 from the edge on (the indicator is >= at eps*a)
    assert values[3:] == pytest.approx([1.0, 4.0, 16.0], rel=1e-6)


def test_gradient_reaches_features_not_centers():
    features = torch.randn(8, 4, requires_grad=True)
    labels = torch.tensor([1, 2, 1, 0, 2, 1, 0, 2])
    centers = torch.randn(2, 4, requires_grad=True)
    penalty = hypersphere_penalty(features, labels, centers, dead_zone=0.0, weight=1.0)
    penalty.backward()
    assert centers.grad is None
    # d/df of 1/(2m) ||f - c||^2 = (f - c)/m for foreground, 0 for background
    m = 6
    expected = torch.zeros_like(features)
    for i, y in enumerate(labels.tolist()):
        if y:
            expected[i] = (features[i] - centers[y - 1]).detach() / m
    torch.testing.assert_close(features.grad, expected)


def test_no_foreground_gives_exact_zero_in_graph():
    features = torch.randn(5, 3, requires_grad=True)
    labels = torch.zeros(5, dtype=torch.int64)
    penalty = hypersphere_penalty(features, labels, torch.randn(4, 3), dead_zone=0.0, weight=1.0)
    assert penalty.item() == 0.0 and penalty.requires_grad
    penalty.backward()
    assert torch.count_nonzero(features.grad) == 0
    empty = torch.zeros(0, 3, requires_grad=True)
    assert hypersphere_penalty(empty, torch.zeros(0, dtype=torch.int64), torch.randn(4, 3), 0.0, 1.0).item() == 0.0


def test_class_sums_skip_background():
    features = torch.arange(12.0).reshape(4, 3)
    labels = torch.tensor([0, 2, 2, 1])
    sums, counts = class_sums(features, labels, num_centers=3)
    torch.testing.assert_close(counts, torch.tensor([1.0, 2.0, 0.0]))
    torch.testing.assert_close(sums, torch.stack([features[3], features[1] + features[2], torch.zeros(3)]))


@pytest.mark.parametrize("num_updates", [0, 1, 7])
def test_update_matches_slow_loop(num_updates):
    g = torch.Generator().manual_seed(num_updates)
    k, d = 5, 8
    centers = torch.nn.functional.normalize(torch.randn(k, d, generator=g), dim=1) * 40 if num_updates else torch.zeros(k, d)
    features = torch.rand(30, d, generator=g) * 10
    labels = torch.randint(0, 4, (30,), generator=g)  # class 4 (label 5) never present; 0 = background
    sums, counts = class_sums(features, labels, k)
    got = update_centers(centers, torch.tensor(num_updates), sums, counts, radius=40.0, beta=0.1, phi=0.99)
    expected = slow_update(centers, num_updates, features, labels, 40.0, 0.1, 0.99)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(got[3:], centers[3:])  # labels 4, 5 absent: unchanged


def test_first_update_is_class_mean_direction():
    features = torch.tensor([[1.0, 0.0], [3.0, 2.0], [0.0, 5.0]])
    labels = torch.tensor([1, 1, 2])
    sums, counts = class_sums(features, labels, 3)
    got = update_centers(torch.zeros(3, 2), torch.tensor(0), sums, counts, radius=40.0, beta=0.1, phi=0.99)
    torch.testing.assert_close(got[0], 40 * torch.tensor([2.0, 1.0]) / math.sqrt(5))
    torch.testing.assert_close(got[1], torch.tensor([0.0, 40.0]))
    torch.testing.assert_close(got[2], torch.zeros(2))


def test_background_center_option():
    g = torch.Generator().manual_seed(3)
    centers = torch.nn.functional.normalize(torch.randn(4, 6, generator=g), dim=1) * 40
    features = torch.rand(20, 6, generator=g)
    labels = torch.randint(0, 4, (20,), generator=g)
    sums, counts = class_sums(features, labels, 4, label_offset=0)
    assert counts.sum() == 20
    got = update_centers(centers, torch.tensor(2), sums, counts, 40.0, 0.1, 0.99)
    torch.testing.assert_close(got, slow_update(centers, 2, features, labels, 40.0, 0.1, 0.99, label_offset=0), rtol=1e-5, atol=1e-4)
    p = hypersphere_penalty(features, labels, centers, 0.0, 1.0, label_offset=0)
    assert p.item() == pytest.approx(slow_penalty(features, labels, centers, 0.0, 1.0, label_offset=0), rel=1e-5)


def test_pinned_seeded_values():
    g = torch.Generator().manual_seed(42)
    features = torch.rand(16, 4, generator=g) * 8
    labels = torch.randint(0, 3, (16,), generator=g)
    sums, counts = class_sums(features, labels, 2)
    centers = update_centers(torch.zeros(2, 4), torch.tensor(0), sums, counts, 40.0, 0.1, 0.99)
    centers = update_centers(centers, torch.tensor(1), sums, counts, 40.0, 0.1, 0.99)
    penalty = hypersphere_penalty(features, labels, centers, 2.0, 0.002)
    # pinned from this implementation (cross-checked by the slow loops above)
    torch.testing.assert_close(centers.norm(dim=1), torch.tensor([40.0, 40.0]))
    assert penalty.item() == pytest.approx(PINNED_PENALTY, rel=1e-5)


PINNED_PENALTY = 0.9882653951644897
