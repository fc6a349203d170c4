"""One-call conversion of a torchvision two-stage detector to the hypersphere loss.

Works on any model whose ``roi_heads`` is a torchvision ``RoIHeads`` (Faster, Mask and
Keypoint R-CNN with any backbone). The conversion is in place: the RoIHeads object
changes class, every weight and attribute stays, and the loss module is added as
``roi_heads.cls_loss``. ``revert_to_torchvision`` undoes it.
"""
from __future__ import annotations

import warnings
import weakref
from typing import Optional, Union


from torch import nn
from torchvision.models.detection.roi_heads import RoIHeads

from .losses.base import ClassificationLoss
from .losses.normalized_classifier import NormalizedLinear, adapt_to_linear
from .losses.registry import build_classification_loss
from .roi_heads import HypersphereRoIHeads


def box_feature_dim(roi_heads: RoIHeads) -> int:
    """d, the size of the features the box predictor receives, read from the model."""
    predictor = roi_heads.box_predictor
    cls_score = getattr(predictor, "cls_score", None)
    if isinstance(cls_score, nn.Linear):
        return cls_score.in_features
    linears = [m for m in roi_heads.box_head.modules() if isinstance(m, nn.Linear)]
    if linears:
        return linears[-1].out_features
    raise ValueError(
        "cannot read the box feature size from this model's box head/predictor; "
        "pass feature_dim= explicitly"
    )


def num_foreground_classes(roi_heads: RoIHeads) -> int:
    """C, torchvision's num_classes minus background, read from the predictor."""
    cls_score = getattr(roi_heads.box_predictor, "cls_score", None)
    out = getattr(cls_score, "out_features", None) or getattr(cls_score, "num_classes", None)
    if out is None:
        raise ValueError("cannot read num_classes from the box predictor; pass num_classes= explicitly")
    return int(out) - 1


def convert_to_hypersphere(
    model: nn.Module,
    loss: Union[str, ClassificationLoss] = "hl",
    *,
    feature_dim: Optional[int] = None,
    num_classes: Optional[int] = None,
    **loss_kwargs,
) -> nn.Module:
    """Convert ``model`` (a torchvision two-stage detector) in place; returns it.

    Args:
        model: e.g. ``torchvision.models.detection.fasterrcnn_resnet50_fpn(...)``.
        loss: a loss name (``"hl"``, ``"softmax"``, ...) or a ClassificationLoss instance.
        feature_dim / num_classes: read from the box predictor when omitted
            (num_classes here is C, foreground classes only).
        **loss_kwargs: hyperparameters of the named loss, e.g. ``radius=40, warmup_steps=500``.

    Example::

        model = torchvision.models.detection.fasterrcnn_resnet50_fpn(weights=None, num_classes=21)
        hl_detect.convert_to_hypersphere(model, "hl", warmup_steps=1000)
        losses = model(images, targets)   # loss_classifier, loss_box_reg, ..., loss_hypersphere
    """
    roi_heads = getattr(model, "roi_heads", None)
    if not isinstance(roi_heads, RoIHeads):
        raise TypeError(
            f"expected a torchvision two-stage detector with a RoIHeads `roi_heads`, got {type(model).__name__}"
        )
    if isinstance(loss, str):
        loss = build_classification_loss(
            loss,
            num_classes=num_classes if num_classes is not None else num_foreground_classes(roi_heads),
            feature_dim=feature_dim if feature_dim is not None else box_feature_dim(roi_heads),
            **loss_kwargs,
        )
    elif loss_kwargs:
        raise TypeError("loss keyword arguments are only accepted with a loss name")
    reference = next(roi_heads.parameters(), None)
    if reference is not None:
        loss = loss.to(reference.device)
    roi_heads.box_predictor = loss.adapt_predictor(roi_heads.box_predictor)
    # in place: keep every attribute torchvision set (and any it adds in future versions)
    roi_heads.__class__ = HypersphereRoIHeads
    roi_heads._sampled_labels = None
    roi_heads._rois_per_image = []
    roi_heads.measure_grad_ratio = False
    roi_heads.last_grad_ratio = None
    roi_heads.cls_loss = loss
    return model


def revert_to_torchvision(model: nn.Module, keep_classifier: bool = False) -> nn.Module:
    """Undo ``convert_to_hypersphere`` in place (drops the loss state); returns the model.

    A margin loss's normalized classifier (CosFace, ArcFace, A-Softmax) becomes an
    nn.Linear again, with the learned class directions as weights and zero bias (see
    ``adapt_to_linear``): the model then has torchvision's layout and loads a stock
    state_dict, but its scores are no longer the margin model's; a warning says so.
    ``keep_classifier=True`` keeps the normalized classifier instead (the export's choice):
    the detections are the trained model's, and the state_dict differs from stock in
    ``cls_score`` alone (no bias)."""
    roi_heads = model.roi_heads
    if isinstance(roi_heads, HypersphereRoIHeads):
        normalized = isinstance(getattr(roi_heads.box_predictor, "cls_score", None), NormalizedLinear)
        if normalized and not keep_classifier:
            warnings.warn(
                "revert_to_torchvision: the normalized (cosine) classifier of the margin loss becomes a plain "
                "nn.Linear with the learned class directions and zero bias; its scores differ from the trained "
                "margin model's, so fine-tune it or keep the converted model for inference",
                stacklevel=2,
            )
            adapt_to_linear(roi_heads.box_predictor)
        del roi_heads.cls_loss
        for name in ("_sampled_labels", "_rois_per_image", "measure_grad_ratio", "last_grad_ratio"):
            roi_heads.__dict__.pop(name, None)
        roi_heads.__class__ = RoIHeads
    return model


def hypersphere_loss_of(model: nn.Module) -> Optional[ClassificationLoss]:
    """The classification-loss module of a converted model (unwraps DDP), or None."""
    model = getattr(model, "module", model)
    roi_heads = getattr(model, "roi_heads", None)
    return getattr(roi_heads, "cls_loss", None)




def bind_process_group(model: nn.Module) -> nn.Module:
    """Make the stateful losses of a DDP-wrapped model all-reduce over DDP's own process group.

    ``DistributedDataParallel(model, process_group=pg)`` trains over ``pg``; the class-sum
    all-reduce inside HL's forward must use the same group, or it would span the whole world.
    Returns ``model``. A model without ``process_group`` (not wrapped) is left as it is."""
    group = getattr(model, "process_group", None)
    if group is None:
        return model
    for module in getattr(model, "module", model).modules():
        if isinstance(module, ClassificationLoss):
            module.process_group = group
            module._ddp = weakref.ref(model)  # not a submodule: checked for join() before collectives
    return model


def step_losses(model: nn.Module) -> None:
    """Tell every classification loss of ``model`` that an optimizer step is done
    (HypersphereLoss with ``count_steps="optimizer"`` counts its schedule in these)."""
    for module in getattr(model, "module", model).modules():
        if isinstance(module, ClassificationLoss):
            module.step()
