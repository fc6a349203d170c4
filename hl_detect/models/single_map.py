"""A Faster R-CNN over one feature map (key "0"), shared by the C4 and tiny builders.

Shapes: the backbone gives [N, out_channels, H/s, W/s]; RoIAlign ``roi_size`` x ``roi_size``
on it feeds ``box_head``, whose output [R, feature_dim] goes to a FastRCNNPredictor.
"""
from __future__ import annotations

from typing import Any, Optional

from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor
from torchvision.ops import MultiScaleRoIAlign

from ..convert import convert_to_hypersphere


def single_map_fasterrcnn(
    backbone: nn.Module,
    box_head: nn.Module,
    feature_dim: int,
    num_classes: int,
    anchor_sizes: tuple[int, ...],
    roi_size: int,
    sampling_ratio: int,
    loss: str,
    loss_kwargs: Optional[dict[str, Any]],
    **kwargs: Any,
) -> FasterRCNN:
    """Assemble the detector (torchvision's FasterRCNN) and plug in ``loss``."""
    model = FasterRCNN(
        backbone,
        num_classes=None,
        rpn_anchor_generator=AnchorGenerator(sizes=(anchor_sizes,), aspect_ratios=((0.5, 1.0, 2.0),)),
        box_roi_pool=MultiScaleRoIAlign(featmap_names=["0"], output_size=roi_size, sampling_ratio=sampling_ratio),
        box_head=box_head,
        box_predictor=FastRCNNPredictor(feature_dim, num_classes),
        **kwargs,
    )
    return convert_to_hypersphere(model, loss, **(loss_kwargs or {}))
