"""hl_detect: the hypersphere loss (Wang et al., IEEE TII 2024) for torchvision detectors.

Convert a detector you already have, or build one with 2048-d RoI features::

    import torchvision, hl_detect
    model = torchvision.models.detection.fasterrcnn_resnet50_fpn(weights=None, num_classes=21)
    hl_detect.convert_to_hypersphere(model, "hl", warmup_steps=1000)   # in place, weights kept
    losses = model(images, targets)    # train mode: a dict of scalars
    # -> loss_classifier, loss_box_reg (torchvision's), loss_hypersphere (eq. 17), RPN losses
    sum(losses.values()).backward()

or ``model = hl_detect.fasterrcnn_resnet50_c4_hl(weights_backbone="IMAGENET1K_V1", num_classes=21)``.
In eval mode the model returns exactly what torchvision's would.
"""
from .convert import (
    bind_process_group,
    box_feature_dim,
    convert_to_hypersphere,
    hypersphere_loss_of,
    revert_to_torchvision,
    step_losses,
)
from .losses import (
    ClassificationLoss,
    HypersphereLoss,
    SoftmaxLoss,
    build_classification_loss,
    class_sums,
    feature_sphere_radius,
    hypersphere_penalty,
    update_centers,
)
from .models import fasterrcnn_resnet50_c4_hl, fasterrcnn_resnet50_fpn_hl
from .roi_heads import HypersphereRoIHeads

__version__ = "0.1.0"

__all__ = [
    "convert_to_hypersphere",
    "revert_to_torchvision",
    "hypersphere_loss_of",
    "bind_process_group",
    "step_losses",
    "box_feature_dim",
    "HypersphereRoIHeads",
    "ClassificationLoss",
    "HypersphereLoss",
    "SoftmaxLoss",
    "build_classification_loss",
    "hypersphere_penalty",
    "update_centers",
    "class_sums",
    "feature_sphere_radius",
    "fasterrcnn_resnet50_fpn_hl",
    "fasterrcnn_resnet50_c4_hl",
]
