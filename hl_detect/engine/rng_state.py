"""The global random generators of a process, as a checkpointable dict (exact resume).

What draws from them while a detector trains: torch's CPU generator (torchvision's RPN and
RoI samplers, ``torch.randperm``), the CUDA generators, and NumPy's and Python's global
generators (a user's dataset, albumentations 1.x). The data order and our own augmentations
do not: they are functions of (seed, rank, epoch, position) (engine/data_order.py), so the
checkpoint's position restores them.

Everything is a tensor or a plain container, so ``torch.load(weights_only=True)`` reads it.
Under DDP every rank has its own generators (seeded seed + rank); ``gather`` collects them
on every rank so rank 0 can write them all.
"""
from __future__ import annotations

import random
from typing import Optional

import numpy as np
import torch
import torch.distributed as dist

from ..distributed import get_world_size, is_distributed


def capture() -> dict:
    """This process's generator states."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state(legacy=True)
    version, internal, py_gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": {"version": version, "internal": list(internal), "gauss": py_gauss},
    }
    # a run that never touched CUDA has drawn nothing from it (and must not initialize it here)
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore(state: dict) -> Optional[str]:
    """Set this process's generators to ``state`` (as ``capture`` returned it); returns why the
    CUDA generators could not be set, if they could not (then the resume is not exact)."""
    torch.set_rng_state(state["torch"].cpu())
    n = state["numpy"]
    keys = n["keys"].cpu().numpy().astype(np.uint32)
    np.random.set_state((n["kind"], keys, n["pos"], n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss"]))
    cuda = state.get("cuda")
    if cuda is None:
        return None
    if not torch.cuda.is_available() or len(cuda) != torch.cuda.device_count():
        found = torch.cuda.device_count() if torch.cuda.is_available() else 0
        return (f"the checkpoint holds the generators of {len(cuda)} CUDA devices, this process sees {found}: "
                "they were not restored")
    torch.cuda.set_rng_state_all([s.cpu() for s in cuda])
    return None


def gather() -> list[Optional[dict]]:
    """Every rank's ``capture()``, indexed by rank (a collective under DDP: all ranks call it)."""
    mine = capture()
    if not is_distributed():
        return [mine]
    states: list[Optional[dict]] = [None] * get_world_size()
    dist.all_gather_object(states, mine)
    return states
