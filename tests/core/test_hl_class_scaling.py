"""HL terms at any number of classes: O(R d + K d) work, the slow oracle at K = 3 and K = 2,000."""
import pytest
import torch
from torch.overrides import TorchFunctionMode

from hl_detect.losses import HypersphereLoss, class_sums, hypersphere_penalty, update_centers
from test_hypersphere_functional import slow_penalty, slow_update


class LargestTensor(TorchFunctionMode):
    """Records the largest tensor any torch call returns (forward and, via autograd.Function, backward)."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out


@pytest.mark.parametrize("num_classes", [3, 2000])
def test_penalty_and_update_match_the_slow_oracle(num_classes):
    g = torch.Generator().manual_seed(num_classes)
    d = 6
    features = torch.rand(40, d, generator=g) * 10
    labels = torch.randint(0, min(num_classes, 7) + 1, (40,), generator=g) * max(1, num_classes // 7)
    labels = labels.clamp(max=num_classes)
    centers = torch.nn.functional.normalize(torch.randn(num_classes, d, generator=g), dim=1) * 40
    sums, counts = class_sums(features, labels, num_classes)
    got = update_centers(centers, torch.tensor(4), sums, counts, 40.0, 0.1, 0.99)
    torch.testing.assert_close(got, slow_update(centers, 4, features, labels, 40.0, 0.1, 0.99), rtol=1e-5, atol=1e-4)
    for dead_zone in (0.0, 30.0):
        p = hypersphere_penalty(features, labels, got, dead_zone, 0.5)
        assert p.item() == pytest.approx(slow_penalty(features, labels, got, dead_zone, 0.5), rel=1e-5)


def test_no_intermediate_grows_with_rois_times_classes():
    rois, d, k = 64, 8, 5000
    loss = HypersphereLoss(k, d).train()
    g = torch.Generator().manual_seed(0)
    features = torch.rand(rois, d, generator=g).requires_grad_()
    labels = torch.randint(0, k + 1, (rois,), generator=g)
    with LargestTensor() as probe:
        loss.extra_losses(features, labels)["loss_hypersphere"].backward()
    # the packed [K, d + 1] class sums and counts are the largest thing touched; an [R, K]
    # product would be 7x larger
    assert probe.largest <= (k + 1) * (d + 1) < rois * k


def test_deterministic_mode_gives_the_same_sums_on_cpu():
    g = torch.Generator().manual_seed(1)
    features = torch.rand(50, 4, generator=g)
    labels = torch.randint(0, 6, (50,), generator=g)
    fast = class_sums(features, labels, 5)
    torch.use_deterministic_algorithms(True)
    try:
        det = class_sums(features, labels, 5)
    finally:
        torch.use_deterministic_algorithms(False)
    torch.testing.assert_close(fast, det)
    onehot = torch.nn.functional.one_hot(labels, 6).float()[:, 1:]
    torch.testing.assert_close(fast[0], onehot.t() @ features)
    torch.testing.assert_close(fast[1], onehot.sum(0))
