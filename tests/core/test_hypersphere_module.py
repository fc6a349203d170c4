"""HypersphereLoss: schedule (warm-up, HL(k)), state, autocast, no host syncs."""
import pytest
import torch

from hl_detect import HypersphereLoss
from hl_detect.losses.hypersphere_functional import class_sums, hypersphere_penalty, update_centers


def step_inputs(seed, rois=24, dim=16, classes=4):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(rois, dim, generator=g).mul(5).requires_grad_(), torch.randint(0, classes + 1, (rois,), generator=g)


def test_warmup_then_updates_every_k():
    loss = HypersphereLoss(4, 16, warmup_steps=2, update_every=3).train()
    history = []
    for step in range(9):
        f, y = step_inputs(step)
        before = loss.centers.clone()
        out = loss.extra_losses(f, y)["loss_hypersphere"]
        history.append((out.item(), not torch.equal(before, loss.centers)))
    assert [h[0] for h in history[:2]] == [0.0, 0.0]  # warm start: CE only
    assert [h[1] for h in history] == [False, False, True, False, False, True, False, False, True]
    assert loss.num_updates.item() == 3 and loss.num_steps.item() == 9
    assert all(h[0] > 0 for h in history[2:])


def test_module_equals_functional_core():
    loss = HypersphereLoss(4, 16, radius=10.0, weight=0.5, beta=0.2, epsilon=0.3, phi=0.9, normalize_by="foreground").train()
    centers, n = torch.zeros(4, 16), 0
    for step in range(3):
        f, y = step_inputs(step)
        got = loss.extra_losses(f, y)["loss_hypersphere"]
        sums, counts = class_sums(f, y, 4)
        centers = update_centers(centers, torch.tensor(n), sums, counts, 10.0, 0.2, 0.9)
        n += 1
        expected = hypersphere_penalty(f, y, centers, 0.3 * loss.sphere_radius, 0.5, power=4)  # the module's default
        torch.testing.assert_close(loss.centers, centers)
        torch.testing.assert_close(got, expected)


def test_centers_get_no_gradient_and_eval_is_inert():
    loss = HypersphereLoss(4, 16).train()
    f, y = step_inputs(0)
    loss.extra_losses(f, y)["loss_hypersphere"].backward()
    assert not loss.centers.requires_grad and loss.centers.grad is None
    assert f.grad is not None and f.grad.abs().sum() > 0
    assert list(loss.parameters()) == []
    loss.eval()
    state = {k: v.clone() for k, v in loss.state_dict().items()}
    assert loss.extra_losses(f, y) == {}
    assert all(torch.equal(state[k], v) for k, v in loss.state_dict().items())


def test_state_dict_round_trip_restores_schedule():
    a = HypersphereLoss(4, 16, warmup_steps=3, update_every=2).train()
    for step in range(4):
        a.extra_losses(*step_inputs(step))
    b = HypersphereLoss(4, 16, warmup_steps=3, update_every=2).train()
    b.load_state_dict(a.state_dict())
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
    # both continue identically (step 4: (4-3) % 2 != 0 -> no update; step 5 updates)
    for step in (4, 5):
        f, y = step_inputs(step)
        torch.testing.assert_close(a.extra_losses(f, y), b.extra_losses(f, y))
        torch.testing.assert_close(a.centers, b.centers)
    assert b.num_updates.item() == a.num_updates.item() == 2


def test_loading_checkpoint_without_centers_fails_clearly():
    loss = HypersphereLoss(4, 16)
    with pytest.warns(UserWarning, match="no hypersphere-loss state.*convert_to_hypersphere"):
        with pytest.raises(RuntimeError, match="Missing key.*centers"):
            loss.load_state_dict({})
    with pytest.warns(UserWarning, match="strict=False to start the centers from zero"):
        result = loss.load_state_dict({}, strict=False)  # explicit opt-in starts from zero centers
    assert set(result.missing_keys) == {"centers", "num_updates", "class_updates", "num_steps", "center_sum"}


def test_autocast_keeps_centers_float32():
    loss = HypersphereLoss(4, 16).train()
    f, y = step_inputs(0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = loss.extra_losses(f.bfloat16(), y)["loss_hypersphere"]
    assert loss.centers.dtype == torch.float32 and out.dtype == torch.float32
    assert torch.isfinite(out)


def test_background_center_option_uses_all_rois():
    loss = HypersphereLoss(4, 16, background_center=True).train()
    f, y = step_inputs(0)
    loss.extra_losses(f, y)
    assert loss.centers.shape == (5, 16)
    present = torch.bincount(y, minlength=5) > 0
    torch.testing.assert_close(loss.centers.norm(dim=1)[present], torch.full((int(present.sum()),), 40.0))


def test_no_host_sync_in_training_step(monkeypatch):
    """No .item()/.tolist()/bool()/nonzero in the HL step: such calls block on a GPU."""
    loss = HypersphereLoss(4, 16, warmup_steps=1).train()
    f, y = step_inputs(0)
    loss.extra_losses(f, y)  # warm-up step

    def forbidden(*args, **kwargs):
        raise AssertionError("host-synchronizing call inside the hypersphere loss step")

    for name in ("item", "tolist", "__bool__", "__int__", "__float__", "nonzero", "numpy", "cpu"):
        monkeypatch.setattr(torch.Tensor, name, forbidden)
    monkeypatch.setattr(torch, "nonzero", forbidden)
    monkeypatch.setattr(torch, "masked_select", forbidden)
    for step in range(1, 4):
        f, y = step_inputs(step)
        out = loss.extra_losses(f, y)["loss_hypersphere"]
        out.backward()
    monkeypatch.undo()
    assert loss.num_updates.item() == 3
