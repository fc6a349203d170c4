"""Checkpoints in torchvision's references style, written atomically, loaded safely.

A checkpoint is one dict: ``model`` (with the loss's buffers: centers, N_c, steps),
``optimizer``, ``lr_scheduler``, ``scaler`` (AMP), ``epoch`` (last completed epoch),
``step`` (global step), ``config`` (the resolved run config), ``epoch_complete``.
Saving goes to a temporary file in the same folder, fsync, then ``os.replace``: a kill
at any moment leaves either the old file or the new one, never a torn one. Loading uses
``torch.load(weights_only=True)``: tensors and plain containers only, no code can run.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Union

import torch

from ..errors import CheckpointError, MissingFileError, nearby_paths


def _write_atomic(path: Union[str, Path], write) -> Path:
    """``write(handle)`` into a temporary file beside ``path``, synced, then renamed onto it:
    a kill at any moment leaves the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_checkpoint(state: dict[str, Any], path: Union[str, Path]) -> Path:
    return _write_atomic(path, lambda handle: torch.save(state, handle))


def copy_checkpoint(source: Union[str, Path], path: Union[str, Path]) -> Path:
    """An atomic copy of a written checkpoint (the epoch checkpoints)."""
    def write(handle):
        with open(source, "rb") as src:
            shutil.copyfileobj(src, handle)

    return _write_atomic(path, write)


def load_checkpoint(path: Union[str, Path], map_location: Union[str, torch.device] = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"checkpoint not found: {path}{_did_you_mean_path(path)}", hint=_CHECKPOINT_HINT)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # pickle errors, truncated files, unsafe globals
        raise CheckpointError(f"{path}: not a loadable hl_detect checkpoint ({type(error).__name__}: {error})") from error


_CHECKPOINT_HINT = ("give a run folder that holds a checkpoint.pt, or the file itself; "
                    "python tools/train_det.py writes runs/<dataset>_<loss>_<head>_seed<seed>/checkpoint.pt")


def _did_you_mean_path(path: Path) -> str:
    """A "; did you mean runs/demo_hl_tiny_seed0?" for the first part of ``path`` that is missing."""
    missing = path
    while missing.parent != missing and not missing.parent.exists():
        missing = missing.parent
    near = nearby_paths(missing)
    return f"; did you mean {' or '.join(near)}?" if near else ""
