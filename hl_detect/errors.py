"""Mistakes a person running a tool can fix, and how the tools report them.

A missing dataset, a typo in a config key or a checkpoint path that does not exist is not a
bug: the tools in tools/ print ``error: <message>`` and one ``next step:`` line instead of a
traceback, and exit with status 2. Every such error is a ``UserError`` (``DatasetError`` and
``BackboneWeightsError`` are too); each subclass also derives from the builtin type it used to
be (``KeyError``, ``ValueError``, ``FileNotFoundError``, ``RuntimeError``), so callers that
catch those keep working. Anything else, a bug, keeps its full traceback.

``--debug`` or ``HL_DETECT_DEBUG=1`` shows the traceback of a user error too.
"""
from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

DEBUG_ENV = "HL_DETECT_DEBUG"
EXIT_USER_ERROR = 2  # as argparse exits on a bad flag
DEMO = "python tools/train_det.py"


class UserError(Exception):
    """A mistake the user can fix; ``hint`` says what to do next (one line)."""

    hint: Optional[str] = None

    def __init__(self, message: str, *, hint: Optional[str] = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class ConfigError(UserError, ValueError):
    """A config value that cannot work: an unknown loss, head or dataset kind, bad YAML."""

    hint = "configs/base.yaml lists every key with what it takes"


class ConfigKeyError(ConfigError, KeyError):
    """An override of a key the config does not have (a typo must not train something else)."""

    hint = ("configs/base.yaml lists every key with what it does; keyword arguments of your own "
            "go under an *options key, e.g. --set model.options.box_detections_per_img=300")

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0])


class MissingFileError(UserError, FileNotFoundError):
    """A file or folder named on the command line or in a config is not there."""

    hint = "check the path (relative paths start from the current folder)"


class CheckpointError(UserError, RuntimeError):
    """A checkpoint that cannot be used: damaged, not hl_detect's, or of another model."""

    hint = "use the checkpoint.pt a run of tools/train_det.py wrote, with the config it was trained with"


def did_you_mean(name: str, known: Iterable[str], what: str = "names") -> str:
    """A "did you mean 'epochs'?" when a known name is close, else the full list of known names."""
    name, known = str(name), sorted(set(map(str, known)))
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    # a shared start of 3+ characters is close too (voc2099 -> voc0712), where difflib's ratio is not
    close = close or [k for k in known if len(os.path.commonprefix([name, k])) >= 3][:3]
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return f"known {what}: {', '.join(known)}"


def dataset_hint(kind: str, root: Any, missing: bool) -> str:
    """The next step for a dataset that cannot be loaded: where it goes, or how to find what is wrong."""
    if missing and kind == "voc":
        return f"put VOC under {root} as datasets/README.md shows, or run the demo: {DEMO}"
    if missing and kind == "rpc":
        return (f"put RPC under {root} (instances_<split>2019.json, <split>2019/) as datasets/README.md shows, "
                f"or run the demo: {DEMO}")
    if missing and kind == "coco":
        return f"a COCO set needs {root}/annotations/instances_<split>.json and images in {root}/<split>/ (datasets/README.md)"
    if kind in ("synthetic", "synthetic_exemplars"):
        return "leave data.root unset (or point it at an empty folder) to generate the demo set there"
    return f"python tools/check_dataset.py --kind {kind} --root {root} --split <split> lists every problem at once"


def _from_torch(error: BaseException) -> Optional[UserError]:
    """Errors torch raises for a user's mistake, recognized by their message."""
    text = str(error)
    if isinstance(error, RuntimeError) and text.startswith("Error(s) in loading state_dict"):
        # load_state_dict lists every key; the first few lines say enough
        lines = [line.strip()[:160] for line in text.splitlines()[:4]]
        return CheckpointError(
            "the checkpoint's weights do not fit the model its config builds:\n  " + "\n  ".join(lines),
            hint="evaluate or resume a checkpoint with the head, loss and classes it was trained with "
                 "(its run folder's config.yaml); to change them, start a new run with another --output-dir")
    if isinstance(error, RuntimeError) and "the checkpoint has no class_names" in text:
        return CheckpointError(text)
    return None


def as_user_error(error: BaseException) -> Optional[UserError]:
    """The user error ``error`` is, or None for a bug (which keeps its traceback)."""
    if isinstance(error, UserError):
        return error
    return _from_torch(error)


def next_step(error: UserError) -> str:
    return error.hint or "run the tool with --debug for the full traceback"


def debug_requested(args: Any = None) -> bool:
    env = os.environ.get(DEBUG_ENV, "").strip().lower()
    return bool(getattr(args, "debug", False)) or env not in ("", "0", "false", "no")


def report(error: UserError, stream=None) -> None:
    """``error: <message>`` and ``next step: <hint>``, on stderr."""
    stream = stream or sys.stderr
    print(f"error: {error}", file=stream)
    print(f"next step: {next_step(error)}", file=stream)
    stream.flush()


def main_guard(main: Callable[[Any], Any], args: Any) -> Any:
    """``main(args)``; a user error is reported in two lines and exits with status 2.

    Every tool's ``if __name__ == "__main__":`` block goes through here. Unknown exceptions
    propagate with their traceback; ``args.debug`` or HL_DETECT_DEBUG=1 lets user errors do so too.
    """
    try:
        return main(args)
    except Exception as error:
        user_error = as_user_error(error)
        if user_error is None or debug_requested(args):
            raise
        sys.stdout.flush()  # what the run printed so far comes before the error
        report(user_error)
    sys.exit(EXIT_USER_ERROR)


def nearby_paths(path: Path) -> list[str]:
    """Siblings of a missing ``path`` whose names are close to its name (a mistyped run folder)."""
    parent = path.parent
    if not parent.is_dir():
        return []
    names = [p.name for p in parent.iterdir() if not p.name.startswith(".")]  # not temp files
    return [str(parent / n) for n in difflib.get_close_matches(path.name, names, n=3, cutoff=0.6)]
