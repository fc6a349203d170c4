"""``build_detector``: the model a run config asks for, with the chosen loss plugged in.

Heads (``model.head``): ``mlp2048`` R50-FPN + 2x2048 MLP, ``c4`` R50-C4 (layer4 head),
``mobilenet`` torchvision's fasterrcnn_mobilenet_v3_large_fpn (1024-d head), ``tiny``
the CPU demo model; and torchvision's own builders by name (stock.py: ``fasterrcnn_resnet50_fpn``,
..., with whole-detector ``weights`` such as COCO_V1). ``num_classes`` is torchvision's
(foreground + background).
"""
from __future__ import annotations

import contextlib
from typing import Any, Optional

from torch import nn
from torchvision.models import detection

from ..convert import convert_to_hypersphere
from ..errors import ConfigError, UserError, did_you_mean
from .backbone_weights import backbone_enum, backbone_unread
from .detector_weights import check_detector_weights
from .fpn_mlp2048 import fasterrcnn_resnet50_fpn_hl
from .resnet_c4 import fasterrcnn_resnet50_c4_hl
from .stock import STOCK_BUILDERS, build_stock_detector
from .tiny import fasterrcnn_tiny_hl
from .weights_files import offline_message

HEADS = ("mlp2048", "c4", "mobilenet", "tiny")
MODELS = HEADS + tuple(STOCK_BUILDERS)  # what model.head (--head, --model) takes


class BackboneWeightsError(UserError, RuntimeError):
    """ImageNet weights were asked for but could not be obtained (typically: offline)."""

    hint = "place the weights file where the message says, or train from scratch: --set model.weights_backbone=null"


def _weights_message(head: str, weights: str, error: Exception) -> str:
    try:
        url = backbone_enum(head).verify(weights).url  # a name, torchvision's full "ResNet50_Weights.X", or a member
    except (KeyError, TypeError, AttributeError):
        url = f"<unknown weights {weights!r}>"
    return offline_message(f"ImageNet backbone weights {weights!r} for head {head!r}", url, error,
                           "or train from scratch with model.weights_backbone=null (much lower accuracy)")


def check_weights(head: str, weights: Optional[str], read: bool = True) -> None:
    """Whole-detector ``weights`` only for a stock builder, and then a name of its or a file that
    exists (a config check, before any data loads, and build_detector's own). ``read=False``
    (a resume: the checkpoint holds the weights) asks for no file."""
    if weights is None:
        return
    if head not in STOCK_BUILDERS:
        raise ConfigError(f"--weights (model.weights) loads a whole torchvision detector; head {head!r} is ours, "
                          "with ImageNet backbone weights only (model.weights_backbone)",
                          hint=f"give --model one of {', '.join(STOCK_BUILDERS)}, or leave out --weights")
    if read:
        check_detector_weights(head, weights)


def build_detector(
    head: str,
    num_classes: int,
    loss: str = "hl",
    loss_kwargs: Optional[dict[str, Any]] = None,
    weights_backbone: Optional[str] = None,
    trainable_backbone_layers: Optional[int] = None,
    weights: Optional[str] = None,
    read_weights: bool = True,
    **options: Any,
) -> nn.Module:
    """``head`` for ``num_classes`` with ``loss``; ``weights`` (whole-detector) only for a stock builder.

    ``read_weights=False``: built as for ``weights`` and ``weights_backbone`` without reading
    either file (stock.py, backbone_weights.py; a resume, or a run loaded for evaluation)."""
    check_weights(head, weights, read_weights)
    unread = contextlib.nullcontext() if read_weights else backbone_unread(head, weights_backbone)
    with unread:
        return _build(head, num_classes, loss, dict(loss_kwargs or {}), weights_backbone, trainable_backbone_layers,
                      weights, read_weights, options)


def _build(head: str, num_classes: int, loss: str, loss_kwargs: dict, weights_backbone: Optional[str],
           trainable_backbone_layers: Optional[int], weights: Optional[str], read_weights: bool,
           options: dict) -> nn.Module:
    common = dict(num_classes=num_classes, **options)
    try:
        if head in STOCK_BUILDERS:
            model = build_stock_detector(head, num_classes, weights=weights, weights_backbone=weights_backbone,
                                         trainable_backbone_layers=trainable_backbone_layers, read_weights=read_weights,
                                         **options)
            return convert_to_hypersphere(model, loss, **loss_kwargs)
        if head == "mlp2048":
            return fasterrcnn_resnet50_fpn_hl(weights_backbone=weights_backbone, trainable_backbone_layers=trainable_backbone_layers, loss=loss, loss_kwargs=loss_kwargs, **common)
        if head == "c4":
            return fasterrcnn_resnet50_c4_hl(weights_backbone=weights_backbone, trainable_backbone_layers=trainable_backbone_layers, loss=loss, loss_kwargs=loss_kwargs, **common)
        if head == "mobilenet":
            model = detection.fasterrcnn_mobilenet_v3_large_fpn(weights=None, weights_backbone=weights_backbone, trainable_backbone_layers=trainable_backbone_layers, **common)
            return convert_to_hypersphere(model, loss, **loss_kwargs)
        if head == "tiny":
            if weights_backbone:
                raise ConfigError("the tiny head has no pretrained backbone; set model.weights_backbone=null",
                                  hint="--set model.weights_backbone=null, or choose another --head")
            return fasterrcnn_tiny_hl(loss=loss, loss_kwargs=loss_kwargs, **common)
    except UserError:  # already says what to do (detector weights' own messages among them)
        raise
    except (OSError, RuntimeError) as error:  # urllib errors are OSErrors
        if weights_backbone and ("url" in str(error).lower() or isinstance(error, OSError)):
            raise BackboneWeightsError(_weights_message(head, weights_backbone, error)) from error
        raise
    raise ConfigError(f"unknown model head {head!r}; {did_you_mean(head, MODELS, 'heads')}",
                      hint=f"--head (--model) takes one of {', '.join(MODELS)}")
