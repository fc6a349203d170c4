"""Is the training state finite? Checked before every checkpoint write.

A step with an infinite lr, an overflow in a loss or a bad batch can turn weights or optimizer
moments into inf/NaN while the loss read of that step was still finite (the loss is read
before the optimizer step). A checkpoint of such a state would replace the last good one with
one that can never train again, so ``Trainer.save`` asks here first and refuses to write.
One host read for all tensors (a flag per tensor, stacked), so the check costs next to nothing
beside the write; the names are looked up only when something is wrong.
"""
from __future__ import annotations

from typing import Iterator, Optional

import torch

from ..errors import UserError


class NonFiniteStateError(UserError, RuntimeError):
    """Weights or optimizer state hold inf/NaN: not saved, the run stops."""

    hint = ("lower lr (or set clip_grad_norm) and continue from the last finite checkpoint with "
            "--resume RUN --allow-config-change --set lr=...")


def _named_tensors(model: torch.nn.Module, optimizer) -> Iterator[tuple[str, torch.Tensor]]:
    for name, tensor in model.state_dict().items():  # parameters and buffers (HL centers, BN statistics)
        yield f"model.{name}", tensor
    names = {id(p): n for n, p in model.named_parameters()}
    for param, state in optimizer.state.items():
        for key, tensor in state.items():
            if torch.is_tensor(tensor):
                yield f"optimizer.{names.get(id(param), '?')}.{key}", tensor


def first_non_finite(model: torch.nn.Module, optimizer) -> Optional[str]:
    """The name of the first floating tensor of ``model`` / ``optimizer`` with an inf or NaN
    (with how many of its values are), or None when all are finite."""
    named = [(n, t) for n, t in _named_tensors(model, optimizer) if t.is_floating_point() or t.is_complex()]
    if not named:
        return None
    by_device: dict = {}
    for i, (_, tensor) in enumerate(named):
        by_device.setdefault(tensor.device, []).append(i)
    flags = torch.empty(len(named), dtype=torch.bool)
    for device, indices in by_device.items():  # one host read per device
        flags[indices] = torch.stack([torch.isfinite(named[i][1]).all() for i in indices]).cpu()
    if bool(flags.all()):
        return None
    name, tensor = named[int((~flags).nonzero()[0])]
    bad = int((~torch.isfinite(tensor)).sum())
    return f"{name} ({bad} of {tensor.numel()} values inf or NaN)"
