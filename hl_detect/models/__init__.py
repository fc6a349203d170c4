"""Detector builders in torchvision's style (2048-d RoI features, as the paper's detector)."""
from .fpn_mlp2048 import fasterrcnn_resnet50_fpn_hl
from .resnet_c4 import ResNetC4Head, ResNetC4Trunk, fasterrcnn_resnet50_c4_hl

__all__ = ["fasterrcnn_resnet50_fpn_hl", "fasterrcnn_resnet50_c4_hl", "ResNetC4Head", "ResNetC4Trunk"]
from .detector_weights import DetectorWeightsError
from .factory import HEADS, MODELS, BackboneWeightsError, build_detector
from .stock import STOCK_BUILDERS
from .tiny import fasterrcnn_tiny_hl

__all__ += ["HEADS", "MODELS", "STOCK_BUILDERS", "BackboneWeightsError", "DetectorWeightsError", "build_detector",
            "fasterrcnn_tiny_hl"]
