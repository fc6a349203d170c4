"""Checkpoints in torchvision's references style, written atomically, loaded safely.

A checkpoint is one dict (Trainer.state_dict writes it; checkpoint_upgrade.py brings an
older one up to date):

    model, optimizer, lr_scheduler (StepLR), lr_warmup (LinearLR or None), scaler (AMP or None)
    epoch, step              the epoch in progress or last completed, optimizer steps (global)
    epoch_complete           True at an epoch end; else step_in_epoch batches of it are done
    step_in_epoch, epoch_stats   mid-epoch: batches done, every rank's running loss sums
    data_order, rng          the data order's rule and size, every rank's random generators
    config                   the resolved run config
    history, train_log       evaluations so far, per-epoch loss means
    resumes                  each resume: step, exact?, why not (run/resume_config.py, rng)
    stateful                 e.g. the bad-image counts; train_seconds: the learning-curve clock
    class_names, categories  the model's classes (run/train.py adds them)
Saving goes through hl_detect/atomic_files.py (a temporary file in the same folder, fsync,
``os.replace``, folder fsync, mode 0644): a kill at any moment leaves either the old file or
the new one, never a torn one. Loading uses
``torch.load(weights_only=True)``: tensors and plain containers only, no code can run.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Union

import torch

from ..atomic_files import write_atomic as _write_atomic
from ..errors import CheckpointError, MissingFileError, UserError, nearby_paths


class CheckpointWriteError(UserError, RuntimeError):
    """The checkpoint could not be written (disk full, no permission): the previous one is kept."""

    hint = "free space or fix the folder's permissions, then continue with --resume RUN (the previous checkpoint is whole)"


def save_checkpoint(state: dict[str, Any], path: Union[str, Path]) -> Path:
    return _write_atomic(path, lambda handle: torch.save(state, handle))


def copy_checkpoint(source: Union[str, Path], path: Union[str, Path]) -> Path:
    """An atomic copy of a written checkpoint (the epoch checkpoints)."""
    def write(handle):
        with open(source, "rb") as src:
            shutil.copyfileobj(src, handle)

    return _write_atomic(path, write)


def load_checkpoint(path: Union[str, Path], map_location: Union[str, torch.device] = "cpu",
                    mmap: bool = False) -> dict[str, Any]:
    """``mmap=True``: tensors stay on disk until touched (reading a checkpoint's config costs
    next to nothing, whatever its size)."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"checkpoint not found: {path}{_did_you_mean_path(path)}", hint=_CHECKPOINT_HINT)
    try:
        try:
            return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
        except RuntimeError:
            if not mmap:
                raise
            # a file of torch's legacy format cannot be mapped: read it whole
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # pickle errors, truncated files, unsafe globals
        raise CheckpointError(f"{path}: not a loadable hl_detect checkpoint ({type(error).__name__}: {error})") from error


_CHECKPOINT_HINT = ("give a run folder that holds a checkpoint.pt, or the file itself; "
                    "python tools/train_det.py writes runs/<dataset>_<loss>_<head>_seed<seed>/checkpoint.pt")


def _did_you_mean_path(path: Path) -> str:
    """A "; did you mean runs/demo_cosface_tiny_seed0?" for the first part of ``path`` that is missing."""
    missing = path
    while missing.parent != missing and not missing.parent.exists():
        missing = missing.parent
    near = nearby_paths(missing)
    return f"; did you mean {' or '.join(near)}?" if near else ""
