"""With more classes than RoIs, HL rewrites only the present centers: same result as the dense update."""
import pytest
import torch

from hl_detect.losses import HypersphereLoss, class_sums, hypersphere_penalty, update_centers
from hl_detect.losses.hypersphere_present import present_center_update, segment_slots
from test_hypersphere_functional import slow_update


def problem(k, rois=24, d=5, seed=0, label_offset=1, classes_used=6):
    g = torch.Generator().manual_seed(seed)
    centers = torch.nn.functional.normalize(torch.randn(k, d, generator=g), dim=1) * 40
    features = torch.rand(rois, d, generator=g) * 10
    picks = torch.randperm(k, generator=g)[:classes_used] + label_offset  # a few classes, repeated
    labels = picks[torch.randint(0, classes_used, (rois,), generator=g)]
    labels[::4] = 0  # background RoIs
    return centers, features, labels


def test_segment_slots_group_equal_rows():
    rows = torch.tensor([7, 3, 7, 9, 3, 3, 12])
    slots, first = segment_slots(rows)
    for i in range(len(rows)):
        for j in range(len(rows)):
            assert (slots[i] == slots[j]) == (rows[i] == rows[j])
    assert first.sum() == 4 and sorted(rows[first].tolist()) == [3, 7, 9, 12]
    assert int(slots.max()) == 3


@pytest.mark.parametrize("label_offset", [1, 0])
@pytest.mark.parametrize("per_class", [False, True])
def test_present_update_equals_the_dense_update(label_offset, per_class):
    k = 300
    centers, features, labels = problem(k, label_offset=label_offset)
    g = torch.Generator().manual_seed(5)
    count = torch.randint(0, 50, (k,), generator=g) if per_class else torch.tensor(7)
    sums, counts = class_sums(features, labels, k, label_offset)
    dense = update_centers(centers, count, sums, counts, 40.0, 0.1, 0.99)
    total = centers.double().sum(dim=0)
    rows, values, present, change = present_center_update(
        centers, count, features, labels, label_offset, total, 40.0, 0.1, 0.99)
    sparse = centers.clone().index_copy_(0, rows, values)
    torch.testing.assert_close(sparse, dense, rtol=1e-5, atol=1e-4)
    assert torch.equal(present, counts > 0)
    for row in rows.unique():  # one value per row, whichever duplicate index_copy_ writes last
        assert (values[rows == row] == values[rows == row][0]).all()
    torch.testing.assert_close(total + change, sparse.double().sum(dim=0), rtol=1e-9, atol=1e-6)
    if not per_class and label_offset == 1:
        torch.testing.assert_close(sparse, slow_update(centers, 7, features, labels, 40.0, 0.1, 0.99), rtol=1e-5, atol=1e-4)


def test_no_roi_with_a_center_changes_nothing():
    centers, features, _ = problem(100)
    labels = torch.zeros(24, dtype=torch.int64)
    rows, values, present, change = present_center_update(
        centers, torch.tensor(3), features, labels, 1, centers.double().sum(0), 40.0, 0.1, 0.99)
    assert torch.equal(centers.clone().index_copy_(0, rows, values), centers)
    assert not present.any() and torch.equal(change, torch.zeros_like(change))


def test_module_with_many_classes_tracks_the_dense_update_over_many_steps():
    k, d = 400, 6
    sparse = HypersphereLoss(k, d, weight=0.1).train()  # K > R: the present-rows path
    dense_centers = sparse.centers.clone()
    dense_updates = sparse.class_updates.clone()
    for step in range(30):
        _, features, labels = problem(k, d=d, seed=step, classes_used=5)
        features.requires_grad_()
        sparse.extra_losses(features, labels)["loss_hypersphere"].backward()
        sums, counts = class_sums(features, labels, k)
        dense_centers = update_centers(dense_centers, dense_updates, sums, counts, 40.0, 0.1, 0.99)
        dense_updates += (counts > 0).long()
    torch.testing.assert_close(sparse.centers, dense_centers, rtol=1e-4, atol=1e-3)
    assert torch.equal(sparse.class_updates, dense_updates)
    # the running total of the centers stays the exact sum, up to float32 rounding of the changes
    torch.testing.assert_close(sparse.center_sum, sparse.centers.double().sum(0), rtol=1e-9, atol=1e-5)


def test_center_sum_is_recomputed_when_someone_else_writes_the_centers():
    loss = HypersphereLoss(100, 4).train()
    _, features, labels = problem(100, d=4)
    loss.extra_losses(features, labels)
    loss.centers.mul_(0.5)  # e.g. a user's edit, not an update or a load
    torch.testing.assert_close(loss._current_center_sum(), loss.centers.double().sum(0))


def test_resume_from_a_state_dict_continues_bit_for_bit():
    """The running sum is saved with the centers: a reload mid-run changes nothing."""
    k, d = 300, 6
    straight = HypersphereLoss(k, d).train()
    for step in range(12):
        _, features, labels = problem(k, d=d, seed=step, classes_used=4)
        straight.extra_losses(features, labels)
        if step == 5:
            resumed = HypersphereLoss(k, d).train()
            resumed.load_state_dict({n: t.clone() for n, t in straight.state_dict().items()})
        if step > 5:
            resumed.extra_losses(features, labels)
    for name, tensor in straight.state_dict().items():
        assert torch.equal(tensor, resumed.state_dict()[name]), name


def test_old_checkpoint_without_center_sum_loads_with_the_exact_sum():
    loss = HypersphereLoss(50, 4)
    state = {n: t.clone() for n, t in loss.state_dict().items()}
    state["centers"] = torch.randn(50, 4)
    del state["center_sum"]
    fresh = HypersphereLoss(50, 4)
    fresh.load_state_dict(state)
    torch.testing.assert_close(fresh.center_sum, state["centers"].sum(0, dtype=torch.float64))
    assert fresh.half().center_sum.dtype == torch.float64 and fresh.centers.dtype == torch.float32


def test_penalty_with_more_centers_than_rois_matches_the_small_case():
    centers, features, labels = problem(500, rois=16)
    f1, f2 = features.clone().requires_grad_(), features.clone().requires_grad_()
    p_gather = hypersphere_penalty(f1, labels, centers, 2.0, 0.3)  # K > R: gathered rows saved
    used = sorted(set((labels[labels > 0] - 1).tolist()))
    remap = {c: i + 1 for i, c in enumerate(used)}  # the same problem with only the used centers
    small_labels = torch.tensor([remap.get(int(y) - 1, 0) if y > 0 else 0 for y in labels])
    p_small = hypersphere_penalty(f2, small_labels, centers[used], 2.0, 0.3)  # K <= R: centers cloned
    torch.testing.assert_close(p_gather, p_small)
    p_gather.backward(), p_small.backward()
    torch.testing.assert_close(f1.grad, f2.grad)


@pytest.mark.parametrize("k", [3, 2000])
def test_present_update_matches_the_slow_oracle(k):
    centers, features, labels = problem(k, rois=40, d=6, seed=k, classes_used=min(k, 7))
    rows, values, _, _ = present_center_update(
        centers, torch.tensor(4), features, labels, 1, centers.double().sum(0), 40.0, 0.1, 0.99)
    got = centers.clone().index_copy_(0, rows, values)
    torch.testing.assert_close(got, slow_update(centers, 4, features, labels, 40.0, 0.1, 0.99), rtol=1e-5, atol=1e-4)
