"""Faster R-CNN, ResNet-50-FPN backbone, two-layer MLP box head of width 2048 (d = 2048).

torchvision's fasterrcnn_resnet50_fpn uses a 1024-wide TwoMLPHead; the paper's
detector has 2048-d RoI features, so only the head width differs here.
Shapes: RoIAlign 7x7 on FPN levels -> [R, 256*7*7] -> fc6 -> fc7 -> [R, 2048].
"""
from __future__ import annotations

from typing import Any, Optional, Union

from torch import nn
from torchvision.models import ResNet50_Weights
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops import misc as misc_nn_ops

from ..convert import convert_to_hypersphere


def fasterrcnn_resnet50_fpn_hl(
    *,
    weights_backbone: Optional[Union[ResNet50_Weights, str]] = None,
    num_classes: int = 21,
    trainable_backbone_layers: Optional[int] = None,
    representation_size: int = 2048,
    loss: str = "hl",
    loss_kwargs: Optional[dict[str, Any]] = None,
    **kwargs: Any,
) -> FasterRCNN:
    """Faster R-CNN R50-FPN with a 2048-wide MLP head, trained with ``loss``.

    Args follow torchvision: ``num_classes`` includes background (21 for VOC),
    ``weights_backbone`` e.g. ``ResNet50_Weights.IMAGENET1K_V1`` (downloaded by
    torchvision, or read from its cache), ``trainable_backbone_layers`` 0-5
    (default 3 with pretrained weights, else 5); other kwargs go to ``FasterRCNN``
    (``min_size``, ``max_size``, ``box_batch_size_per_image``, ...).
    ``loss_kwargs`` are the loss's hyperparameters (e.g. ``{"warmup_steps": 1000}``).
    """
    is_trained = weights_backbone is not None
    if trainable_backbone_layers is None:
        trainable_backbone_layers = 3 if is_trained else 5
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet_fpn_backbone(
        backbone_name="resnet50",
        weights=weights_backbone,
        norm_layer=norm_layer,
        trainable_layers=trainable_backbone_layers,
    )
    resolution = 7  # torchvision's MultiScaleRoIAlign output for FPN models
    box_head = TwoMLPHead(backbone.out_channels * resolution**2, representation_size)
    box_predictor = FastRCNNPredictor(representation_size, num_classes)
    model = FasterRCNN(backbone, num_classes=None, box_head=box_head, box_predictor=box_predictor, **kwargs)
    return convert_to_hypersphere(model, loss, **(loss_kwargs or {}))
