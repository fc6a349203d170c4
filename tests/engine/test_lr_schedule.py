"""The lr schedule: LinearLR warm-up per step and StepLR per epoch compose, and resume exactly."""
import pytest
import torch
from torch import nn

from hl_detect.engine.checkpoint_upgrade import upgrade_checkpoint
from hl_detect.engine.lr_schedule import WARMUP_START_FACTOR, epoch_scheduler, warmup_scheduler

STEPS_PER_EPOCH = 4


def schedule(lr=1.0, warmup_iters=10, step_epochs=1, gamma=0.1):
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=lr)
    epochs = epoch_scheduler(optimizer, step_epochs, gamma)
    return optimizer, epochs, warmup_scheduler(optimizer, warmup_iters)


def run_steps(optimizer, epochs, warmup, start, stop):
    """lrs seen by the optimizer steps start..stop-1 (global), the epoch scheduler stepped at epoch ends."""
    seen = []
    for step in range(start, stop):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        warmup.step()
        if (step + 1) % STEPS_PER_EPOCH == 0:
            epochs.step()
    return seen


def expected_lr(step, lr=1.0, warmup_iters=10, gamma=0.1):
    """Closed form: lr0 * linear warm-up factor * gamma^(epochs done)."""
    alpha = min(1.0, step / warmup_iters)
    return lr * (WARMUP_START_FACTOR * (1 - alpha) + alpha) * gamma ** (step // STEPS_PER_EPOCH)


def test_a_warmup_longer_than_the_step_keeps_the_decay():
    optimizer, epochs, warmup = schedule()  # 10 warm-up steps span 2.5 epochs of decay by 10
    seen = run_steps(optimizer, epochs, warmup, 0, 16)
    assert seen == pytest.approx([expected_lr(s) for s in range(16)], rel=1e-12)
    assert seen[-1] == pytest.approx(1e-3, rel=1e-12)  # after 3 epochs: gamma^3, not lr0


def test_no_warmup_is_plain_steplr():
    optimizer, epochs, warmup = schedule(warmup_iters=0)
    assert warmup is None and optimizer.param_groups[0]["lr"] == 1.0


@pytest.mark.parametrize("stop_at", [3, 4, 9, 13])
def test_a_resumed_schedule_continues_bit_for_bit(stop_at):
    optimizer, epochs, warmup = schedule()
    straight = run_steps(optimizer, epochs, warmup, 0, 16)
    optimizer_a, epochs_a, warmup_a = schedule()
    head = run_steps(optimizer_a, epochs_a, warmup_a, 0, stop_at)
    optimizer_b, epochs_b, warmup_b = schedule()  # as Trainer.restore loads them
    optimizer_b.load_state_dict(optimizer_a.state_dict())
    epochs_b.load_state_dict(epochs_a.state_dict())
    warmup_b.load_state_dict(warmup_a.state_dict())
    assert head + run_steps(optimizer_b, epochs_b, warmup_b, stop_at, 16) == straight


@pytest.mark.parametrize("legacy", ["iter_warmup", "none"])
def test_an_old_warmup_state_resumes_inside_the_warmup(legacy):
    """IterWarmup's {count, base, iters}, or no warm-up state at all (it had run min(step, iters))."""
    count, lr0 = 3, 1.0
    current = lr0 * (WARMUP_START_FACTOR + (1 - WARMUP_START_FACTOR) * count / 10)
    optimizer, _, _ = schedule(warmup_iters=0)
    optimizer.param_groups[0]["lr"] = current
    old = {"optimizer": optimizer.state_dict(), "step": count, "config": {"lr_warmup_iters": 10}, "model": {}, "epoch": 0,
           "lr_warmup": {"count": count, "base": [lr0], "iters": 10} if legacy == "iter_warmup" else None}
    if legacy == "none":
        del old["lr_warmup"]
    ckpt = upgrade_checkpoint(old)
    optimizer_b, epochs_b, warmup_b = schedule(gamma=1.0)
    optimizer_b.load_state_dict(ckpt["optimizer"])
    warmup_b.load_state_dict(ckpt["lr_warmup"])
    seen = run_steps(optimizer_b, epochs_b, warmup_b, count, 12)
    assert seen == pytest.approx([expected_lr(s, gamma=1.0) for s in range(count, 12)], rel=1e-12)


def test_upgrade_fills_every_key_an_old_checkpoint_lacks():
    old = {"model": {}, "optimizer": {"param_groups": []}, "lr_scheduler": {}, "epoch": 2, "step": 8,
           "config": {}, "class_names": ["a", "b"],
           "epoch_stats": {"sums": {"loss": 1.0}, "steps": 2, "images": 4, "seconds": 1.0, "ratio_sum": 0.5, "ratio_count": 2}}
    ckpt = upgrade_checkpoint(old)
    assert ckpt["categories"] == [{"id": None, "name": "a", "supercategory": None},
                                  {"id": None, "name": "b", "supercategory": None}]
    (stats,) = ckpt["epoch_stats"]  # rank 0's, which every rank resumed
    assert stats["extra_sums"] == {"grad_ratio": [0.5, 2]} and "ratio_sum" not in stats
    assert ckpt["history"] == [] and ckpt["train_log"] == [] and ckpt["train_seconds"] == 0.0
    assert ckpt["epoch_complete"] and ckpt["stateful"] == {} and ckpt["lr_warmup"] is None and ckpt["scaler"] is None
    assert "categories" not in old  # the loaded dict is left as it was
