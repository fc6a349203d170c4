"""Box-classification losses for the RoIHeads plugin (see base.ClassificationLoss)."""
from .base import ClassificationLoss, SoftmaxLoss
from .hypersphere import HypersphereLoss
from .hypersphere_functional import class_sums, hypersphere_penalty, update_centers
from .registry import LOSSES, build_classification_loss, register_loss
from .sphere_radius import cap_angle, feature_sphere_radius

__all__ = [
    "ClassificationLoss",
    "SoftmaxLoss",
    "HypersphereLoss",
    "hypersphere_penalty",
    "class_sums",
    "update_centers",
    "feature_sphere_radius",
    "cap_angle",
    "LOSSES",
    "build_classification_loss",
    "register_loss",
]
