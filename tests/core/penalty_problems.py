"""Random problems for the hypersphere penalty and its sum written as a slow loop from the
formulas: one copy for the tests that check the penalty against a hand sum
(test_hl_power.py, test_hl_strength.py)."""
import math

import torch


def random_problem(generator, rows, dim, classes, dtype=torch.float32):
    """(features [rows, dim], labels 0..classes (0 background), centers [classes, dim]), drawn
    from ``generator`` in this order (a caller may draw more from it after)."""
    features = torch.randn(rows, dim, generator=generator, dtype=dtype) * 3
    labels = torch.randint(0, classes + 1, (rows,), generator=generator)
    centers = torch.randn(classes, dim, generator=generator, dtype=dtype) * 3
    return features, labels, centers


def slow_sum(features, labels, centers, dead_zone, power=2):
    """(sum over foreground RoIs of 1(beyond the dead zone) dist^power, the foreground count).

    Beyond: dist >= dead_zone (eq. 11), but dist > dead_zone for the authors' quartic power."""
    total, fg = 0.0, 0
    for f, y in zip(features.tolist(), labels.tolist()):
        if y < 1:
            continue
        fg += 1
        dist = math.sqrt(sum((a - b) ** 2 for a, b in zip(f, centers[y - 1].tolist())))
        beyond = dist > dead_zone if power == 4 else dist >= dead_zone
        total += dist**power if beyond else 0.0
    return total, fg
