"""``build_detector``: the model a run config asks for, with the chosen loss plugged in.

Heads (``model.head``): ``mlp2048`` R50-FPN + 2x2048 MLP, ``c4`` R50-C4 (layer4 head),
``mobilenet`` torchvision's fasterrcnn_mobilenet_v3_large_fpn (1024-d head), ``tiny``
the CPU demo model. ``num_classes`` is torchvision's (foreground + background).
"""
from __future__ import annotations

from typing import Any, Optional

from torch import nn
from torchvision.models import detection

from ..convert import convert_to_hypersphere
from ..errors import ConfigError, UserError, did_you_mean
from .fpn_mlp2048 import fasterrcnn_resnet50_fpn_hl
from .resnet_c4 import fasterrcnn_resnet50_c4_hl
from .tiny import fasterrcnn_tiny_hl

HEADS = ("mlp2048", "c4", "mobilenet", "tiny")


class BackboneWeightsError(UserError, RuntimeError):
    """ImageNet weights were asked for but could not be obtained (typically: offline)."""

    hint = "place the weights file where the message says, or train from scratch: --set model.weights_backbone=null"


def _weights_message(head: str, weights: str, error: Exception) -> str:
    import torch.hub
    from torchvision.models import MobileNet_V3_Large_Weights, ResNet50_Weights

    enum = MobileNet_V3_Large_Weights if head == "mobilenet" else ResNet50_Weights
    try:
        url = enum[weights].url if isinstance(weights, str) else weights.url
    except (KeyError, AttributeError):
        url = f"<unknown weights {weights!r}>"
    cache = f"{torch.hub.get_dir()}/checkpoints/{url.rsplit('/', 1)[-1]}"
    return (
        f"could not load ImageNet backbone weights {weights!r} for head {head!r} ({type(error).__name__}: {error}).\n"
        f"  - with network access torchvision downloads them from {url}\n"
        f"  - offline: download that file elsewhere and place it at {cache}\n"
        f"  - or train from scratch with model.weights_backbone=null (much lower accuracy)"
    )


def build_detector(
    head: str,
    num_classes: int,
    loss: str = "hl",
    loss_kwargs: Optional[dict[str, Any]] = None,
    weights_backbone: Optional[str] = None,
    trainable_backbone_layers: Optional[int] = None,
    **options: Any,
) -> nn.Module:
    loss_kwargs = dict(loss_kwargs or {})
    common = dict(num_classes=num_classes, **options)
    try:
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
    except (OSError, RuntimeError) as error:  # urllib errors are OSErrors
        if weights_backbone and ("url" in str(error).lower() or isinstance(error, OSError)):
            raise BackboneWeightsError(_weights_message(head, weights_backbone, error)) from error
        raise
    raise ConfigError(f"unknown model head {head!r}; {did_you_mean(head, HEADS, 'heads')}",
                      hint=f"--head takes one of {', '.join(HEADS)}")
