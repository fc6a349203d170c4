"""A small Faster R-CNN for CPUs: the embedded demo and quick experiments.

Shapes: a 4-stage residual CNN (widths w, 2w, 4w, 8w; stride 8 after stage 3) gives one
map [N, 4w, H/8, W/8]; RoIAlign 7x7 -> [R, 4w*49] -> 2-layer MLP of width
``representation_size`` -> [R, d]. Trained from scratch (no weights to download); it
trades accuracy for seconds, which is what a laptop demo needs.
"""
from __future__ import annotations

from typing import Any, Optional

import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.faster_rcnn import TwoMLPHead

from .single_map import single_map_fasterrcnn



def _conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class _Residual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv_bn(cin, cout, stride), nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.body(x) + self.skip(x))


class TinyBackbone(nn.Module):
    """Stride-8 residual CNN with ``out_channels`` = 4 * width."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv_bn(3, width, 2),  # /2
            _Residual(width, width, 1),
            _Residual(width, 2 * width, 2),  # /4
            _Residual(2 * width, 4 * width, 2),  # /8
            _Residual(4 * width, 4 * width, 1),
        )
        self.out_channels = 4 * width

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


class MLPHead(TwoMLPHead):
    """torchvision's TwoMLPHead (same fc6/fc7 weights) with the last ReLU optional.

    With ``final_relu=False`` the RoI features f_i can point anywhere, so they can reach
    centers with negative coordinates (the hypersphere loss's centers need not lie in the
    positive orthant that a ReLU output is confined to). ``hidden_size`` (default: the
    representation size, torchvision's layout) narrows fc6, so a d = 2048 feature costs
    a quarter of the compute on a CPU (the loss study's head).
    """

    def __init__(self, in_channels: int, representation_size: int, final_relu: bool = True,
                 hidden_size: Optional[int] = None) -> None:
        super().__init__(in_channels, representation_size)
        if hidden_size is not None and hidden_size != representation_size:
            self.fc6 = nn.Linear(in_channels, hidden_size)
            self.fc7 = nn.Linear(hidden_size, representation_size)
        self.final_relu = final_relu

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(self.fc6(x.flatten(start_dim=1)))
        x = self.fc7(x)
        return F.relu(x) if self.final_relu else x


def fasterrcnn_tiny_hl(
    *,
    num_classes: int = 21,
    width: int = 32,
    representation_size: int = 256,
    final_relu: bool = True,
    hidden_size: Optional[int] = None,
    loss: str = "hl",
    loss_kwargs: Optional[dict[str, Any]] = None,
    **kwargs: Any,
) -> FasterRCNN:
    """Small from-scratch Faster R-CNN (stride 8, one feature map) trained with ``loss``.

    ``final_relu=False`` drops the ReLU after the last head layer; ``hidden_size`` sets
    fc6's width (see MLPHead)."""
    backbone = TinyBackbone(width)
    box_head = MLPHead(backbone.out_channels * 7 * 7, representation_size, final_relu, hidden_size)
    return single_map_fasterrcnn(
        backbone, box_head, representation_size, num_classes, anchor_sizes=(16, 32, 64, 128),
        roi_size=7, sampling_ratio=2, loss=loss, loss_kwargs=loss_kwargs, **kwargs,
    )
