"""``--weights``: whole-detector weights for a stock torchvision builder, by weights name or from a file.

A name (``COCO_V1``, ``DEFAULT``, or torchvision's full ``FasterRCNN_..._Weights.COCO_V1``) is
the builder's own weights enum: torchvision reads its file from torch's hub cache, downloading
it there first when it can (weights_files.py says where, offline). Anything else is a local
file: a state_dict of the same builder's model, or a checkpoint dict holding one under "model".
Files are read with weights_only=True, so a checkpoint of torchvision's reference train.py (it
also pickles its argparse args) must first be reduced to ``torch.save(ckpt["model"], path)``.

Either way the builder builds the model it builds for its own weights (frozen BatchNorm, the
trainable_backbone_layers it takes) and loads them; stock.py then replaces the box predictor
for the run's classes. A file goes through the same builder call, so a COCO file copied by
hand trains exactly as ``--weights COCO_V1`` does.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..errors import MissingFileError, UserError, did_you_mean
from .weights_files import cache_file, cache_folder, offline_message


class DetectorWeightsError(UserError, RuntimeError):
    """Detector weights were asked for but could not be read (offline, or not this builder's)."""

    hint = ("place the file where the message says, give a local file with --weights PATH, "
            "or leave out --weights (ImageNet backbone only)")


def weights_enum(builder: str):
    from torchvision.models import get_model_weights

    return get_model_weights(builder)


def weights_member(builder: str, weights: str):
    """The enum member ``weights`` names for ``builder``, or None when it names none (then: a file)."""
    try:
        return weights_enum(builder).verify(weights)
    except (KeyError, TypeError):
        return None


def check_detector_weights(builder: str, weights: str) -> None:
    """Before any data loads: ``weights`` is one of ``builder``'s names or an existing file."""
    if weights_member(builder, weights) is not None or Path(weights).is_file():
        return
    enum = weights_enum(builder)
    names = [name for name in enum.__members__]
    raise MissingFileError(
        f"--weights {weights}: no such file, and not a weights name of {builder} "
        f"({did_you_mean(weights, names, 'names')})",
        hint=f"give an existing .pth file, or a name ({', '.join(names)}): offline, torchvision reads "
             f"{builder}'s {enum.DEFAULT.name} file from {cache_file(enum.DEFAULT.url)} (folder {cache_folder()})")


def read_detector_weights(builder: str, weights: str):
    """(enum member, state_dict): the name's file through torchvision's cache, or the local file."""
    member = weights_member(builder, weights)
    if member is not None:
        try:
            return member, member.get_state_dict(progress=True, check_hash=True)
        except (OSError, RuntimeError) as error:  # urllib's errors are OSErrors; a bad hash a RuntimeError
            raise DetectorWeightsError(offline_message(
                f"{builder} detector weights {weights!r}", member.url, error,
                f"or give the file's path: --weights /path/to/{member.url.rsplit('/', 1)[-1]}")) from error
    check_detector_weights(builder, weights)  # the missing-file message
    member = weights_enum(builder).DEFAULT
    return member, _predictor_for(_read_file(Path(weights)), len(member.meta["categories"]))


def _read_file(path: Path) -> dict:
    import torch

    try:
        # weights_only: a .pth from elsewhere must not run code when it is read
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several kinds for a file it cannot read
        raise DetectorWeightsError(f"--weights {path}: not a weights file torch.load can read safely "
                                   f"({type(error).__name__}: {(str(error).splitlines() or [''])[0][:200]})",
                                   hint="save the state_dict alone: torch.save(model.state_dict(), path), or "
                                        "torch.save(checkpoint['model'], path) for a reference train.py checkpoint") from error
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]  # a checkpoint dict (its other entries: optimizer, epoch, ...)
    if not isinstance(state, dict):
        raise DetectorWeightsError(f"--weights {path}: holds a {type(state).__name__}, not a state_dict",
                                   hint="save model.state_dict() alone with torch.save")
    return state


PREDICTOR = "roi_heads.box_predictor."


def _predictor_for(state: dict, num_classes: int) -> dict:
    """``state`` with a box predictor of ``num_classes`` (zeros) where the file's has another count.

    The builder loads strictly into a model with its weights' class count (COCO's 91), and the
    predictor is replaced for the run's classes right after; so a file fine-tuned on other
    classes loads too: its own predictor would be dropped anyway."""
    import torch

    scores = state.get(PREDICTOR + "cls_score.weight")
    if scores is None or scores.shape[0] == num_classes:
        return state  # the builder's own shape (or none at all: torch's message then lists it)
    width = scores.shape[1]
    placeholder = {"cls_score.weight": (num_classes, width), "cls_score.bias": (num_classes,),
                   "bbox_pred.weight": (4 * num_classes, width), "bbox_pred.bias": (4 * num_classes,)}
    kept = {k: v for k, v in state.items() if not k.startswith(PREDICTOR)}
    return {**kept, **{PREDICTOR + k: torch.zeros(shape) for k, shape in placeholder.items()}}


@contextmanager
def builder_reads(member: Any, state: dict) -> Iterator[None]:
    """For the duration, ``member``'s enum answers ``get_state_dict`` with ``state``.

    torchvision's builders take detector weights only as an enum member, which they load with
    ``weights.get_state_dict(...)``; answering that call with the state already read (from the
    cache or from the user's file) makes the builder build and load exactly as for its own
    weights, without a second read and without reaching for the network."""
    enum = type(member)
    own = enum.__dict__.get("get_state_dict")  # None: inherited from WeightsEnum, as in torchvision today
    enum.get_state_dict = lambda self, *args, **kwargs: state
    try:
        yield
    finally:
        if own is None:
            del enum.get_state_dict
        else:
            enum.get_state_dict = own


def load_error(builder: str, weights: str, error: RuntimeError) -> DetectorWeightsError:
    """A file that is not ``builder``'s model (its keys or shapes differ): the first lines of torch's list."""
    lines = [line.strip()[:160] for line in str(error).splitlines()[:4]]
    return DetectorWeightsError(f"--weights {weights}: not the weights of torchvision's {builder}:\n  " + "\n  ".join(lines),
                                hint=f"give a state_dict saved from torchvision's {builder} (--model names the builder)")
