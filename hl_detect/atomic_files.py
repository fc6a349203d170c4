"""Files a run writes, written so that a kill at any moment leaves the old file or the new one.

Every file goes to a temporary sibling ``.<name>.<pid>.<random>.tmp``, is flushed and synced,
renamed onto its name (``os.replace`` is atomic on one filesystem), and then the folder is
synced too, so the rename itself survives a power cut. The writer's pid in the temporary
name lets the next run in the folder tell a dead writer's leftover from a live one's file
(``remove_stale_temp_files``). The file gets the mode an ordinary ``open(path, "w")`` gives
(0644 under the usual umask), not the 0600 of ``mkstemp``, so a checkpoint is as readable as
the rest of its run folder.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Callable, Union

PathLike = Union[str, Path]
_TEMP = re.compile(r"^\..+\.(\d+)\.[^.]+\.tmp$")  # .<name>.<pid>.<random>.tmp


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def fsync_dir(folder: PathLike) -> None:
    """Make a rename or unlink inside ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a folder; the rename is still atomic
    finally:
        os.close(fd)


def write_atomic(path: PathLike, write: Callable) -> Path:
    """``write(handle)`` (a binary handle) into a temporary sibling, synced, renamed onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def output_file(path: PathLike, what: str, example: str) -> Path:
    """``path`` as the file a tool will write ``what`` to, checked before the tool does any work:
    a folder there is a user error naming it (``example``: a file name to suggest)."""
    path = Path(path)
    if path.is_dir():
        from .errors import ConfigError

        raise ConfigError(f"{path} is a folder; {what} goes to a file", hint=f"give a file name, e.g. {example}")
    return path


def write_text_atomic(path: PathLike, text: str) -> Path:
    return write_atomic(path, lambda handle: handle.write(text.encode("utf-8")))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def remove_stale_temp_files(folder: PathLike) -> list[Path]:
    """Delete the temporary files of writers that died mid-write in ``folder`` (not recursive);
    a live process's file (another tool writing there now) is left alone. Returns the removed."""
    folder = Path(folder)
    removed = []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        match = _TEMP.match(entry.name)
        if match and entry.is_file() and not _alive(int(match.group(1))):
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed
