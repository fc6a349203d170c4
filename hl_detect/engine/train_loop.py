"""``train_one_epoch``: one pass over the training loader (torchvision references' shape).

Losses come back from the model as a dict of named scalars; every key is summed for the
backward pass, shown on the progress bar and written to TensorBoard, so a new loss term
(``loss_hypersphere``) needs no code here. A non-finite total stops the run with the
step and every term named, before the optimizer touches the weights; under DDP the ranks
agree on it (non_finite_ranks), so all of them stop at the same step.

Whatever a loss needs around its steps comes through hooks (engine/hooks.py), so this loop
knows no loss: their ``step_values()`` (e.g. HL's gradient ratio, hl_detect/run/loss_hooks.py)
are read in the same host read as the loss values (no extra sync), and their epoch means are
returned beside the loss means under the same names.

The running sums live in an ``EpochStats`` the caller may keep: a checkpoint written
mid-epoch carries it, so the means of a resumed epoch still cover all of its steps.
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Optional, Sequence

import torch

from ..distributed import all_reduce_sum_, get_rank, get_world_size, is_distributed, is_main_process
from ..errors import UserError
from .progress import step_progress


class NonFiniteLossError(UserError, RuntimeError):
    """A training loss became NaN or infinite; the message names the step, the rank and the terms."""

    hint = ("lower lr (or set clip_grad_norm), check the data, and continue from the last good checkpoint "
            "with --resume RUN --allow-config-change --set lr=...")


def non_finite_ranks(values: dict[str, float], device: torch.device) -> dict[int, dict[str, float]]:
    """{rank: its loss terms} of every rank whose total is not finite, the same dict on every rank.

    Under DDP a rank that stopped alone would leave the others waiting in the backward pass's
    gradient all-reduce (for the process group's timeout, 30 min): so the ranks exchange their
    terms, one small all-reduce per step (each rank fills its own row, the others are zero)."""
    if not is_distributed():
        return {} if math.isfinite(sum(values.values())) else {0: values}
    keys, rank = list(values), get_rank()
    table = torch.zeros(get_world_size(), len(keys), dtype=torch.float64, device=device)
    table[rank] = torch.tensor([values[k] for k in keys], dtype=torch.float64)
    rows = all_reduce_sum_(table).tolist()
    return {r: dict(zip(keys, row)) for r, row in enumerate(rows) if not math.isfinite(sum(row))}


class EpochStats:
    """Running sums of one epoch on this rank: loss terms (every step), the hooks' extra values
    (on the steps that measure them: [sum, count] by name), images, seconds."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.steps, self.images, self.seconds = 0, 0, 0.0
        self.extra_sums: dict[str, list] = {}

    def add(self, values: dict[str, float], images: int, extras: Optional[dict[str, float]] = None) -> None:
        for key, value in values.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
        self.steps += 1
        self.images += images
        for key, value in (extras or {}).items():
            total, count = self.extra_sums.get(key, (0.0, 0))
            self.extra_sums[key] = [total + value, count + 1]

    def means(self) -> dict[str, float]:
        means = {k: v / max(1, self.steps) for k, v in self.sums.items()}
        means.update({k: total / count for k, (total, count) in self.extra_sums.items() if count})
        return means

    def images_per_second(self) -> float:
        return self.images / max(self.seconds, 1e-9)

    def state_dict(self) -> dict:
        return dict(vars(self), sums=dict(self.sums), extra_sums={k: list(v) for k, v in self.extra_sums.items()})

    @classmethod
    def from_state(cls, state: Optional[dict]) -> "EpochStats":
        stats = cls()
        for key, value in (state or {}).items():
            setattr(stats, key, dict(value) if key in ("sums", "extra_sums") else value)
        return stats


def step_text(global_step: int, values: dict[str, float], lr: float, images_per_second: float) -> str:
    """A plain log line's values: every loss term (``loss_`` dropped), so a log read later
    shows which term moved, not the total alone."""
    terms = " ".join(f"{k.removeprefix('loss_')}={v:.4f}" for k, v in values.items())
    return (f"(global {global_step}) loss={sum(values.values()):.4f} [{terms}] "
            f"lr={lr:.3g} {images_per_second:.1f} img/s")


def move_to(images, targets, device):
    images = [image.to(device, non_blocking=True) for image in images]
    targets = [{k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in t.items()} for t in targets]
    return images, targets


def _read_terms(loss_dict: dict, extra: dict) -> tuple[dict, dict]:
    """(loss terms, extra values) as floats: one host read per step for all of them (the guard
    torchvision's references keep too)."""
    read = torch.stack([v.detach().float() for v in [*loss_dict.values(), *extra.values()]]).tolist()
    return dict(zip(loss_dict, read)), dict(zip(extra, read[len(loss_dict):]))


def _stop_if_not_finite(values: dict, device: torch.device, epoch: int, global_step: int) -> None:
    bad = non_finite_ranks(values, device)
    if bad:  # every rank stops here, before a backward pass the others would wait in
        where = f" on rank {', '.join(map(str, bad))}" if is_distributed() else ""
        terms = "; ".join(", ".join(f"{k}={v:.4g}" for k, v in row.items()) for row in bad.values())
        raise NonFiniteLossError(f"non-finite loss at epoch {epoch}, step {global_step} (global){where}: {terms}")


def _update(model: torch.nn.Module, optimizer: torch.optim.Optimizer, total: torch.Tensor,
            scaler: Optional[torch.amp.GradScaler], clip_grad_norm: Optional[float]) -> None:
    """Backward and optimizer step, through the AMP scaler when there is one (gradients
    unscaled before clipping, as torch.amp's recipe says)."""
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


def _log_scalars(writer, values: dict, lr: float, images_per_second: float, global_step: int) -> None:
    for key, value in values.items():
        writer.add_scalar(f"train/{key}", value, global_step)
    writer.add_scalar("train/loss_total", sum(values.values()), global_step)
    writer.add_scalar("train/lr", lr, global_step)
    writer.add_scalar("train/images_per_second", images_per_second, global_step)


def _mean_over_ranks(means: dict, device: torch.device) -> dict:
    """Epoch means averaged over ranks, so that rank 0 logs the global figure."""
    if not means:
        return means
    keys = sorted(means)
    packed = all_reduce_sum_(torch.tensor([means[k] for k in keys], dtype=torch.float64, device=device))
    return {k: float(v) / get_world_size() for k, v in zip(keys, packed.tolist())}


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
    hooks: Sequence[Any] = (),
    say: Callable = print,
) -> tuple[int, dict[str, float]]:
    """Train for one epoch (or what is left of it); returns (new global step, mean of each loss term).

    ``stats``: the epoch's running sums so far (a resumed epoch); updated in place.
    ``hooks``: engine/hooks.py's step points (before_step, step_values, after_optimizer_step).
    ``progress``: a bar on a terminal, else a ``[train]`` line (``say``) every ``log_every``
    global steps (engine/progress.py); rank 0 only."""
    model.train()
    total_steps = len(loader) if max_steps is None else min(len(loader), max_steps)
    stats = stats if stats is not None else EpochStats()
    # counted over the whole epoch: a resumed epoch shows where it stands, not a restart at 0
    bar = step_progress(stats.steps + total_steps, enabled=progress and is_main_process(), every=log_every, say=say,
                        bar_desc=f"epoch {epoch}", line_prefix=f"[train] epoch {epoch} step", initial=stats.steps)
    steps_done, start, seconds_before = 0, time.perf_counter(), stats.seconds
    progress_terms = {short: key for hook in hooks for short, key in hook.progress_terms.items()}
    for images, targets in loader:
        if steps_done >= total_steps:
            break
        images, targets = move_to(images, targets, device)
        for hook in hooks:
            hook.before_step(global_step)
        with torch.autocast(device_type=device.type, enabled=scaler is not None):
            loss_dict = model(images, targets)
        values, extra_values = _read_terms(loss_dict, {k: v for hook in hooks for k, v in hook.step_values().items()})
        for key, value in extra_values.items():
            if writer is not None:
                writer.add_scalar(key, value, global_step + 1)
        _stop_if_not_finite(values, device, epoch, global_step)
        _update(model, optimizer, sum(loss_dict.values()), scaler, clip_grad_norm)
        for hook in hooks:
            hook.after_optimizer_step()
        if iter_scheduler is not None:
            iter_scheduler.step()
        global_step += 1
        steps_done += 1
        stats.add(values, len(images), {k.rsplit("/", 1)[-1]: v for k, v in extra_values.items()})
        stats.seconds = seconds_before + time.perf_counter() - start
        lr = optimizer.param_groups[0]["lr"]
        terms = {short: f"{values.get(key, 0.0):.3f}" for short, key in progress_terms.items()}
        bar.update(global_step, bar_fields=dict(loss=f"{sum(values.values()):.3f}", **terms, lr=f"{lr:.2e}",
                                                ips=f"{stats.images_per_second():.1f}"),
                   line_text=lambda: step_text(global_step, values, lr, stats.images_per_second()))
        if writer is not None and global_step % log_every == 0:
            _log_scalars(writer, values, lr, stats.images_per_second(), global_step)
        if on_step_end is not None:
            on_step_end(global_step)
    bar.close()
    return global_step, _mean_over_ranks(stats.means(), device)
