"""``train_one_epoch``: one pass over the training loader (torchvision references' shape).

Losses come back from the model as a dict of named scalars; every key is summed for the
backward pass, shown on the progress bar and written to TensorBoard, so a new loss term
(``loss_hypersphere``) needs no code here. A non-finite total stops the run with the
step and every term named, before the optimizer touches the weights.

On logging steps the RoI heads also measure ``hl/grad_ratio``: the gradient norm of the
loss's extra terms (HL's penalty) over that of the cross-entropy at the box-head
features, read in the same host read as the loss values (no extra sync). Its epoch mean
is returned as ``grad_ratio`` beside the loss means.

The running sums live in an ``EpochStats`` the caller may keep: a checkpoint written
mid-epoch carries it, so the means of a resumed epoch still cover all of its steps.
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Optional

import torch
from tqdm import tqdm

from ..convert import step_losses
from ..distributed import all_reduce_sum_, get_world_size, is_main_process


class NonFiniteLossError(RuntimeError):
    """A training loss became NaN or infinite; the message names the step and the terms."""


class EpochStats:
    """Running sums of one epoch on this rank: loss terms, gradient ratio, images, seconds."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.steps, self.images, self.seconds = 0, 0, 0.0
        self.ratio_sum, self.ratio_count = 0.0, 0

    def add(self, values: dict[str, float], images: int, ratio: Optional[float]) -> None:
        for key, value in values.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
        self.steps += 1
        self.images += images
        if ratio is not None:
            self.ratio_sum, self.ratio_count = self.ratio_sum + ratio, self.ratio_count + 1

    def means(self) -> dict[str, float]:
        means = {k: v / max(1, self.steps) for k, v in self.sums.items()}
        if self.ratio_count:
            means["grad_ratio"] = self.ratio_sum / self.ratio_count
        return means

    def images_per_second(self) -> float:
        return self.images / max(self.seconds, 1e-9)

    def state_dict(self) -> dict:
        return dict(vars(self), sums=dict(self.sums))

    @classmethod
    def from_state(cls, state: Optional[dict]) -> "EpochStats":
        stats = cls()
        for key, value in (state or {}).items():
            setattr(stats, key, dict(value) if key == "sums" else value)
        return stats


def move_to(images, targets, device):
    images = [image.to(device, non_blocking=True) for image in images]
    targets = [{k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in t.items()} for t in targets]
    return images, targets


def train_one_epoch(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loader,
    device: torch.device,
    epoch: int,
    *,
    global_step: int = 0,
    scaler: Optional[torch.amp.GradScaler] = None,
    iter_scheduler: Optional[Any] = None,
    writer=None,
    log_every: int = 20,
    max_steps: Optional[int] = None,
    clip_grad_norm: Optional[float] = None,
    on_step_end: Optional[Callable[[int], None]] = None,
    progress: bool = True,
    stats: Optional[EpochStats] = None,
) -> tuple[int, dict[str, float]]:
    """Train for one epoch (or what is left of it); returns (new global step, mean of each loss term).

    ``stats``: the epoch's running sums so far (a resumed epoch); updated in place."""
    model.train()
    total_steps = len(loader) if max_steps is None else min(len(loader), max_steps)
    stats = stats if stats is not None else EpochStats()
    bar = tqdm(total=total_steps, desc=f"epoch {epoch}", disable=not (progress and is_main_process()), dynamic_ncols=True)
    steps_done, start, seconds_before = 0, time.perf_counter(), stats.seconds
    heads = getattr(getattr(model, "module", model), "roi_heads", None)
    can_measure = hasattr(heads, "measure_grad_ratio")
    for images, targets in loader:
        if steps_done >= total_steps:
            break
        images, targets = move_to(images, targets, device)
        measure = can_measure and (global_step + 1) % log_every == 0
        if measure:
            heads.measure_grad_ratio, heads.last_grad_ratio = True, None
        with torch.autocast(device_type=device.type, enabled=scaler is not None):
            loss_dict = model(images, targets)
        total = sum(loss_dict.values())
        ratio = heads.last_grad_ratio if measure else None
        # one host read per step for all terms (the guard torchvision's references keep too)
        read = [v.detach().float() for v in loss_dict.values()] + ([ratio.float()] if ratio is not None else [])
        read = torch.stack(read).tolist()
        values = dict(zip(loss_dict, read))
        if ratio is not None:
            if writer is not None:
                writer.add_scalar("hl/grad_ratio", read[-1], global_step + 1)
        if not math.isfinite(sum(values.values())):
            terms = ", ".join(f"{k}={v:.4g}" for k, v in values.items())
            raise NonFiniteLossError(f"non-finite loss at epoch {epoch}, step {global_step} (global): {terms}")
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(total).backward()
            if clip_grad_norm:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
            scaler.step(optimizer)
            scaler.update()
        else:
            total.backward()
            if clip_grad_norm:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
            optimizer.step()
        step_losses(model)  # HL's count_steps="optimizer" schedule counts optimizer steps (a no-op otherwise)
        if iter_scheduler is not None:
            iter_scheduler.step()
        global_step += 1
        steps_done += 1
        stats.add(values, len(images), read[-1] if ratio is not None else None)
        stats.seconds = seconds_before + time.perf_counter() - start
        lr = optimizer.param_groups[0]["lr"]
        bar.set_postfix(loss=f"{sum(values.values()):.3f}", hl=f"{values.get('loss_hypersphere', 0.0):.3f}",
                        lr=f"{lr:.2e}", ips=f"{stats.images_per_second():.1f}")
        bar.update(1)
        if writer is not None and global_step % log_every == 0:
            for key, value in values.items():
                writer.add_scalar(f"train/{key}", value, global_step)
            writer.add_scalar("train/loss_total", sum(values.values()), global_step)
            writer.add_scalar("train/lr", lr, global_step)
            writer.add_scalar("train/images_per_second", stats.images_per_second(), global_step)
        if on_step_end is not None:
            on_step_end(global_step)
    bar.close()
    means = stats.means()
    # epoch means averaged over ranks so rank 0 logs the global figure
    if means:
        keys = sorted(means)
        packed = all_reduce_sum_(torch.tensor([means[k] for k in keys], dtype=torch.float64, device=device))
        means = {k: float(v) / get_world_size() for k, v in zip(keys, packed.tolist())}
    return global_step, means
