"""Small helpers around torch.distributed that are no-ops in a single process."""
from __future__ import annotations

import torch
import torch.distributed as dist

from .errors import UserError


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def get_rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def get_world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main_process() -> bool:
    return get_rank() == 0


def all_reduce_sum_(tensor: torch.Tensor, group=None) -> torch.Tensor:
    """Sum ``tensor`` over the ranks of ``group`` (default: all) in place (asynchronous w.r.t. the host on CUDA)."""
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM, group=group)
    return tensor


def all_reduce_max_(tensor: torch.Tensor, group=None) -> torch.Tensor:
    """Elementwise max of ``tensor`` over the ranks of ``group`` (default: all), in place."""
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX, group=group)
    return tensor


_owned_group = False  # init_distributed created the process group (not a caller): shutdown_distributed ends it


def init_distributed(device_type: str) -> tuple[bool, int]:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, LOCAL_RANK).

    Returns (distributed?, local_rank). NCCL on CUDA, gloo on CPU. Without torchrun's
    variables this is a single process and nothing happens.
    """
    import os

    global _owned_group
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ or int(os.environ["WORLD_SIZE"]) < 2:
        return False, 0
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
        _owned_group = True
    dist.barrier()
    return True, local_rank


def shutdown_distributed() -> None:
    """Destroy the process group init_distributed created, while Python is still whole.

    Left to interpreter exit, gloo's worker threads are torn down after Python's finalization
    has begun, and a rank can die with SIGABRT ("terminate called without an active
    exception") after a run that succeeded; torchrun then reports the run as failed. A group a
    caller created is the caller's to destroy."""
    global _owned_group
    if _owned_group and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    _owned_group = False


def barrier() -> None:
    if is_distributed():
        dist.barrier()



class RankZeroError(RuntimeError):
    """What failed on rank 0 (a checkpoint write, a refused run folder), raised on every other
    rank, so no rank waits alone in a collective the failed one never joins."""

    def __init__(self, message: str, hint=None) -> None:
        super().__init__(message)
        self.hint = hint


class RankZeroUserError(RankZeroError, UserError):
    """A user error of rank 0's, reported as one on every rank (error: / next step:, exit 2)."""


def run_on_main(fn):
    """``fn()`` on rank 0 alone; returns its result there (None elsewhere). Under DDP its outcome is
    broadcast (a collective: every rank calls this at the same point), and an exception on rank
    0 is raised there and, with its message, on every other rank."""
    result, error = None, None
    if is_main_process():
        try:
            result = fn()
        except Exception as raised:  # noqa: BLE001 - handed on to every rank, then re-raised
            error = raised
    if is_distributed():
        box = [None if error is None else (f"rank 0: {error}", getattr(error, "hint", None), isinstance(error, UserError))]
        dist.broadcast_object_list(box, src=0)
        if error is None and box[0] is not None:
            message, hint, user_error = box[0]
            raise (RankZeroUserError if user_error else RankZeroError)(message, hint=hint)
    if error is not None:
        raise error
    return result
