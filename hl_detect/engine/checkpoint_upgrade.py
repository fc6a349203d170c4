"""``upgrade_checkpoint``: a checkpoint written by an older hl_detect, in today's format.

Every reader of a training checkpoint (Trainer.restore, run.load.load_run, the dataset
checker) goes through here, so the code past it knows one format only. What cannot be made
up (random states, the data order of a run that did not save them) stays missing; the
Trainer then says that its resume is not bit for bit.
"""
from __future__ import annotations

import copy

from .lr_schedule import WARMUP_START_FACTOR


def upgrade_checkpoint(ckpt: dict) -> dict:
    """A copy of ``ckpt`` with every key a current checkpoint has (engine/checkpoint.py lists them)."""
    ckpt = copy.copy(ckpt)
    ckpt.setdefault("scaler", None)  # before AMP
    ckpt.setdefault("epoch_complete", True)  # before mid-epoch checkpoints: only epoch ends were saved
    ckpt.setdefault("step_in_epoch", 0)
    ckpt.setdefault("epoch_stats", None)
    ckpt.setdefault("history", [])
    ckpt.setdefault("train_log", [])
    ckpt.setdefault("train_seconds", 0.0)  # before the learning-curve clock
    ckpt.setdefault("stateful", {})  # before the bad-image counts
    ckpt.setdefault("resumes", [])  # before resumes were recorded
    if not ckpt.get("categories") and ckpt.get("class_names"):
        # before COCO ids were stored: names only, which evaluation matches by name
        ckpt["categories"] = [{"id": None, "name": str(n), "supercategory": None} for n in ckpt["class_names"]]
    ckpt["epoch_stats"] = _epoch_stats(ckpt["epoch_stats"])
    ckpt["lr_warmup"] = _lr_warmup(ckpt)
    return ckpt


def _epoch_stats(states):
    """Rank 0's sums alone (a dict; every rank resumed them) -> a list by rank; the gradient
    ratio's running sum (ratio_sum, ratio_count) -> the named extras' sums."""
    if not states:
        return states
    return [_epoch_stats_of_rank(s) for s in ([states] if isinstance(states, dict) else states)]


def _epoch_stats_of_rank(state: dict) -> dict:
    if "ratio_sum" not in state:
        return state
    state = dict(state)
    total, count = state.pop("ratio_sum"), state.pop("ratio_count")
    state["extra_sums"] = {"grad_ratio": [total, count]} if count else {}
    return state


def _lr_warmup(ckpt: dict):
    """The hand-written IterWarmup's state ({count, base, iters}; before that, none: it had run
    min(step, iters) steps) -> LinearLR's, which continues from the optimizer's saved lr."""
    state = ckpt.get("lr_warmup")
    if state is not None and "count" not in state:
        return state  # already LinearLR's (or None: no warm-up)
    iters = int((state or {}).get("iters", (ckpt.get("config") or {}).get("lr_warmup_iters", 0) or 0))
    if iters <= 0:
        return None
    count = int(state["count"]) if state else min(int(ckpt.get("step", 0)), iters)
    groups = (ckpt.get("optimizer") or {}).get("param_groups") or []
    lrs = [float(g["lr"]) for g in groups]
    base = [float(b) for b in state["base"]] if state else lrs
    return {"start_factor": WARMUP_START_FACTOR, "end_factor": 1.0, "total_iters": iters, "base_lrs": base,
            "last_epoch": count, "_step_count": count + 1, "_is_initial": False, "_get_lr_called_within_step": False,
            "_last_lr": lrs}
