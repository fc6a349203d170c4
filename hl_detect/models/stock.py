"""torchvision's own Faster R-CNN builders as ``model.head`` (``--model``), as its reference scripts name them.

Built by torchvision's builder itself, so the model is exactly the stock one: without
``weights`` with the run's ``num_classes`` (and the ImageNet backbone of ``weights_backbone``);
with ``weights`` (detector_weights.py: a name such as COCO_V1 or a local file) as torchvision
builds it for those weights, its box predictor then replaced by a fresh one for the run's
classes. factory.py converts the result to the chosen loss, as it does for our own heads.
"""
from __future__ import annotations

from typing import Any, Optional

from torchvision.models import MobileNet_V3_Large_Weights, ResNet50_Weights
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, FasterRCNN

from .detector_weights import builder_reads, load_error, read_detector_weights, weights_enum, weights_member

# builder name -> its backbone's weights enum (which --weights-backbone names)
STOCK_BUILDERS = {
    "fasterrcnn_resnet50_fpn": ResNet50_Weights,
    "fasterrcnn_resnet50_fpn_v2": ResNet50_Weights,
    "fasterrcnn_mobilenet_v3_large_fpn": MobileNet_V3_Large_Weights,
    "fasterrcnn_mobilenet_v3_large_320_fpn": MobileNet_V3_Large_Weights,
}


def build_stock_detector(name: str, num_classes: int, *, weights: Optional[str] = None,
                         weights_backbone: Optional[str] = None, trainable_backbone_layers: Optional[int] = None,
                         read_weights: bool = True, **options: Any) -> FasterRCNN:
    """torchvision's ``name`` for ``num_classes`` (with background), still with its softmax loss.

    ``read_weights=False``: the model ``weights`` would give (frozen BatchNorm, trainable layers,
    the weights' own BatchNorm eps), without reading them: a resume's checkpoint brings every
    tensor, so the file may have moved since the run started."""
    from torchvision.models import get_model_builder

    builder = get_model_builder(name)
    common = dict(trainable_backbone_layers=trainable_backbone_layers, **options)
    if weights is None:
        return builder(weights=None, weights_backbone=weights_backbone, num_classes=num_classes, **common)
    if read_weights:
        member, state = read_detector_weights(name, weights)
    else:
        member = weights_member(name, weights) or weights_enum(name).DEFAULT  # a file loads as DEFAULT's
        state = _placeholder_state(builder, member, options)
    try:
        # the class count is the weights' (torchvision insists); the backbone's weights come with them
        with builder_reads(member, state):
            model = builder(weights=member, weights_backbone=None, **common)
    except RuntimeError as error:  # load_state_dict: keys or shapes of another model
        if not str(error).startswith("Error(s) in loading state_dict"):
            raise
        raise load_error(name, weights, error) from error
    old = model.roi_heads.box_predictor
    model.roi_heads.box_predictor = FastRCNNPredictor(old.cls_score.in_features, num_classes)
    return model


def _placeholder_state(builder: Any, member: Any, options: dict) -> dict:
    """A state_dict of ``member``'s shapes for the builder to load in place of the weights file.

    The builder only builds the weights' architecture when given the weights (it loads them
    itself), so it gets the tensors of a plain build instead; the checkpoint overwrites them
    all. Its own random stream is forked: a resume restores the RNG anyway, a build should
    still not draw from it twice."""
    import torch

    with torch.random.fork_rng(devices=[]):
        plain = builder(weights=None, weights_backbone=None, num_classes=len(member.meta["categories"]), **options)
    return plain.state_dict()  # BatchNorm's step counters in it: frozen BatchNorm drops them on load
