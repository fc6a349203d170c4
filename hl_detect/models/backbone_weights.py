"""Which ImageNet weights enum a head's backbone takes (``model.weights_backbone``), and a build
"as trained with them" that does not read their file.

A resume, ``eval_det``, ``predict`` and ``export`` rebuild a run's model and then load its
checkpoint, which holds every tensor: the ImageNet file is not needed, and it may have been
moved, or the machine be offline, since the run started. The build must still be the one the
weights give (torchvision freezes BatchNorm and picks the trainable layers only when weights
are passed), so the builders get the weights' name and, when they ask the enum for its state,
a placeholder of the same shapes."""
from __future__ import annotations

import contextlib
from typing import Iterator, Optional

from torchvision.models import MobileNet_V3_Large_Weights, ResNet50_Weights, mobilenet_v3_large, resnet50

from .detector_weights import builder_reads
from .stock import STOCK_BUILDERS

# the classification network each enum's file holds (its state is the placeholder's shape)
_NETWORKS = {ResNet50_Weights: resnet50, MobileNet_V3_Large_Weights: mobilenet_v3_large}


def backbone_enum(head: str) -> type:
    """The weights enum of ``head``'s backbone (mobilenet heads: MobileNet V3 Large; else ResNet-50)."""
    if head in STOCK_BUILDERS:
        return STOCK_BUILDERS[head]
    return MobileNet_V3_Large_Weights if head == "mobilenet" else ResNet50_Weights


@contextlib.contextmanager
def backbone_unread(head: str, weights_backbone: Optional[str]) -> Iterator[None]:
    """For the duration, a build of ``head`` with ``weights_backbone`` gets a placeholder state
    instead of the weights file: same modules, frozen BatchNorm and trainable layers; the
    tensors are a fresh network's, to be overwritten by a checkpoint.

    An unknown name is left for the builder to refuse, as it would without this."""
    if not weights_backbone:
        yield
        return
    enum = backbone_enum(head)
    try:
        member = enum.verify(weights_backbone)
    except (KeyError, TypeError, ValueError, AttributeError):
        yield
        return
    import torch

    with torch.random.fork_rng(devices=[]):  # the real build draws as a read build would
        state = _NETWORKS[enum](weights=None, num_classes=len(member.meta["categories"])).state_dict()
    with builder_reads(member, state):
        yield
