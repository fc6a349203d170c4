"""``ConsoleLog``: a run's ``say``; prints each line and keeps it in ``<run>/train.log``.

The log is what the user saw on the console, minus progress-bar redraws (bars go to stderr
and are never written here), so a run started in a terminal can still be read later. Lines
said before the run folder is ready (the resume check, the folder lock) are held and written
after the opening marker. Each session appends: a resumed run's log continues under a
``resumed`` marker, the interrupted session's lines are kept above it.

Only rank 0 keeps a log (the others pass ``enabled=False`` and say nothing), as only rank 0
prints under DDP. Each line is flushed: a run killed with SIGKILL keeps what it had said.
"""
from __future__ import annotations

import datetime
import os
import socket
from pathlib import Path
from typing import Optional, TextIO

from tqdm import tqdm

TRAIN_LOG = "train.log"


def marker_line(resumed_from: Optional[str]) -> str:
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    what = f"resumed from {resumed_from}" if resumed_from else "started"
    return f"===== {what} at {when} (pid {os.getpid()} on {socket.gethostname()}) ====="


class ConsoleLog:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.pending: list[str] = []
        self.file: Optional[TextIO] = None

    def __call__(self, *values, sep: str = " ", end: str = "\n", flush: bool = True) -> None:
        """print()'s signature, as the ``say`` callables around the run expect."""
        if not self.enabled:
            return
        with tqdm.external_write_mode():  # on a terminal: the line above a bar, not through it
            print(*values, sep=sep, end=end, flush=flush)
        self._keep(sep.join(map(str, values)) + end)

    def _keep(self, text: str) -> None:
        if self.file is None:
            self.pending.append(text)
        else:
            self.file.write(text)
            self.file.flush()

    def open(self, folder, resumed_from: Optional[str] = None) -> None:
        """Start writing ``folder/train.log`` (appending): the session's marker, then what
        was said so far."""
        if not self.enabled or self.file is not None:
            return
        self.file = open(Path(folder) / TRAIN_LOG, "a", encoding="utf-8")
        self.file.write(marker_line(resumed_from) + "\n" + "".join(self.pending))
        self.file.flush()
        self.pending = []

    def note(self, text: str) -> None:
        """A line for the log alone: what the console already shows otherwise (the error
        main_guard prints after the run has ended, and with it this log)."""
        if self.enabled:
            self._keep(text + "\n")

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
