#!/usr/bin/env python
"""``hl-export`` from a checkout: the command lives in hl_detect/run/commands/export.py (--help there)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from hl_detect.run.commands.export import cli, get_args_parser, main  # noqa: E402,F401 (tests load the tool's main)

if __name__ == "__main__":
    cli()
