"""What a number depends on besides the config: threads, deterministic kernels, the software.

``reproducible(threads, deterministic)`` fixes the first two for the length of a run (and puts
them back afterwards, so a library caller's process is left as it was); ``environment()`` is
what metrics.json records beside the numbers, so a number can be re-measured under the same
conditions. On one machine, the same config and thread count give bit-identical weights
(tests/engine/test_exact_resume.py); another thread count or library version may not.
"""
from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Optional

import torch

_REPO = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def reproducible(threads: Optional[int] = None, deterministic: bool = False) -> Iterator[int]:
    """Set torch's intra-op thread count (None: keep it; under ``deterministic``, keep and
    record it) and, with ``deterministic``, deterministic kernels only; yields the thread count."""
    before = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(),
              torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic,
              torch.is_deterministic_algorithms_warn_only_enabled(), os.environ.get("CUBLAS_WORKSPACE_CONFIG"))
    try:
        if threads:
            torch.set_num_threads(int(threads))
        if deterministic:
            # cuBLAS needs a fixed workspace for deterministic matmuls; read when its handle is created
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.benchmark = False
            torch.backends.cudnn.deterministic = True
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before[0])
        torch.use_deterministic_algorithms(before[1], warn_only=before[4])
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = before[2], before[3]
        if before[5] is None:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)


def git_commit(folder: Path = _REPO) -> Optional[str]:
    """The checkout's commit (+ "-dirty" when tracked files changed), or None outside git."""
    try:
        run = dict(cwd=folder, capture_output=True, text=True, timeout=10)
        head = subprocess.run(["git", "rev-parse", "HEAD"], **run)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], **run)
        return head.stdout.strip() + ("-dirty" if dirty.returncode == 0 and dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):  # no git installed, or it hung
        return None


def environment(device: torch.device, deterministic: bool = False, world_size: int = 1) -> dict:
    """The software and machine behind a run's numbers (metrics.json ``environment``)."""
    import torchvision

    info = {
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "python": platform.python_version(), "platform": platform.platform(),
        "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
        "cpu_count": os.cpu_count(), "device": str(device), "world_size": world_size,
        "deterministic": bool(deterministic), "git_commit": git_commit(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv and sys.argv[0] else None,
    }
    if device.type == "cuda":
        info.update(gpu=torch.cuda.get_device_name(device), cuda=torch.version.cuda,
                    cudnn=torch.backends.cudnn.version())
    return info
