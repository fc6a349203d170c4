"""Faster R-CNN with the classic ResNet-50 "C4" layout (the authors' detector, d = 2048).

Shapes: the trunk (stem, layer1-3) gives one stride-16 map [N, 1024, H/16, W/16];
RoIAlign 14x14 on it -> [R, 1024, 14, 14] -> ``layer4`` (stride 2) -> [R, 2048, 7, 7]
-> global average pooling -> [R, 2048], the RoI feature f_i.
"""
from __future__ import annotations

from typing import Any, Optional, Union

import torch
from torch import Tensor, nn
from torchvision.models import ResNet50_Weights, resnet50
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.models.detection import FasterRCNN
from torchvision.ops import misc as misc_nn_ops

from .single_map import single_map_fasterrcnn


# torchvision's naming, top to bottom; layer4 lives in the box head and always trains
_BACKBONE_LAYERS = ["layer4", "layer3", "layer2", "layer1", "conv1"]


class ResNetC4Trunk(nn.Module):
    """ResNet stem + layer1..layer3 as a single-map backbone (stride 16, 1024 channels)."""

    def __init__(self, resnet: nn.Module) -> None:
        super().__init__()
        self.body = IntermediateLayerGetter(resnet, return_layers={"layer3": "0"})
        self.out_channels = 1024

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        return self.body(x)


class ResNetC4Head(nn.Module):
    """``layer4`` + average pooling: the box head of the C4 detector, output [R, 2048]."""

    def __init__(self, layer4: nn.Module) -> None:
        super().__init__()
        self.layer4 = layer4
        self.out_features = 2048

    def forward(self, x: Tensor) -> Tensor:
        return torch.flatten(self.layer4(x).mean(dim=(2, 3)), start_dim=1)


def fasterrcnn_resnet50_c4_hl(
    *,
    weights_backbone: Optional[Union[ResNet50_Weights, str]] = None,
    num_classes: int = 21,
    trainable_backbone_layers: Optional[int] = None,
    loss: str = "hl",
    loss_kwargs: Optional[dict[str, Any]] = None,
    **kwargs: Any,
) -> FasterRCNN:
    """Faster R-CNN R50-C4 (RoIAlign on the stride-16 map, layer4 head), trained with ``loss``.

    Arguments as ``fasterrcnn_resnet50_fpn_hl``. ``trainable_backbone_layers`` counts
    torchvision's way (layer4 first); layer4 is in the head and always trains, so the
    default 3 with pretrained weights trains layer4, layer3, layer2 (Detectron2's
    FREEZE_AT=2 for R50-C4).
    """
    is_trained = weights_backbone is not None
    if trainable_backbone_layers is None:
        trainable_backbone_layers = 3 if is_trained else 5
    if not 0 <= trainable_backbone_layers <= 5:
        raise ValueError(f"trainable_backbone_layers must be in [0, 5], got {trainable_backbone_layers}")
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    resnet = resnet50(weights=weights_backbone, norm_layer=norm_layer)
    trainable = set(_BACKBONE_LAYERS[: max(trainable_backbone_layers, 1)])
    if trainable_backbone_layers == 5:
        trainable.add("bn1")
    for name, parameter in resnet.named_parameters():
        if not any(name.startswith(layer) for layer in trainable):
            parameter.requires_grad_(False)
    box_head = ResNetC4Head(resnet.layer4)
    backbone = ResNetC4Trunk(resnet)
    return single_map_fasterrcnn(
        backbone, box_head, box_head.out_features, num_classes, anchor_sizes=(32, 64, 128, 256, 512),
        roi_size=14, sampling_ratio=0, loss=loss, loss_kwargs=loss_kwargs, **kwargs,
    )
