"""Box-classification losses for the RoIHeads plugin (see base.ClassificationLoss)."""
from .arcface import ArcFaceLoss, additive_angular_cosine
from .base import ClassificationLoss, SoftmaxLoss
from .center_loss import CenterLoss, center_penalty
from .constrained_center_loss import ConstrainedCenterLoss
from .composed import ComposedLoss
from .cosface import CosFaceLoss
from .hard_mining import HardMiningLoss, hard_mining
from .exclusive_regularization import ExclusiveRegularization, exclusive_regularization
from .hypersphere import HypersphereLoss
from .hypersphere_authors import AuthorsCodeHypersphereLoss, authors_image_centers
from .hypersphere_functional import class_sums, hypersphere_penalty, update_centers
from .margin import MarginLoss
from .amcm_softmax import AMCMSoftmaxLoss
from .normalized_classifier import NormalizedLinear, adapt_to_normalized
from .registry import LOSSES, build_classification_loss, loss_parts, register_loss
from .sphere_radius import cap_angle, feature_sphere_radius
from .sphereface import ASoftmaxLoss

__all__ = [
    "ClassificationLoss",
    "SoftmaxLoss",
    "HypersphereLoss",
    "AuthorsCodeHypersphereLoss",
    "authors_image_centers",
    "ComposedLoss",
    "loss_parts",
    "hypersphere_penalty",
    "class_sums",
    "update_centers",
    "feature_sphere_radius",
    "cap_angle",
    "LOSSES",
    "build_classification_loss",
    "register_loss",
    "CenterLoss",
    "center_penalty",
    "ConstrainedCenterLoss",
    "MarginLoss",
    "CosFaceLoss",
    "ArcFaceLoss",
    "additive_angular_cosine",
    "AMCMSoftmaxLoss",
    "HardMiningLoss",
    "hard_mining",
    "ASoftmaxLoss",
    "ExclusiveRegularization",
    "exclusive_regularization",
    "NormalizedLinear",
    "adapt_to_normalized",
]
