"""``HypersphereRoIHeads``: torchvision's RoIHeads with a pluggable box-classification loss.

Shapes: N images, R sampled RoIs over the batch, d box-head feature size,
C + 1 classes including background.

What we rely on from torchvision's ``RoIHeads.forward`` (checked by tests/core/test_roi_heads.py
against the stock model, so an upgrade that changes it fails loudly, not silently):
  - in training it calls ``self.select_training_samples`` once, before the box head,
    and its third output is the per-image list of sampled labels;
  - it calls ``self.box_predictor(box_features)`` exactly once per forward, with the
    box-head output for those RoIs in that order, and feeds the returned logits to
    ``fastrcnn_loss`` (cross-entropy); it returns ``(result, losses)``.
Everything else (sampling, regression, post-processing, mask and keypoint branches)
is torchvision's, untouched. Eval mode is torchvision's forward verbatim.

Strength diagnostic: set ``measure_grad_ratio = True`` before a training forward (the
training loop does it on logging steps only) and that forward leaves in
``last_grad_ratio`` a 0-d tensor ||dL_extra/df|| / ||dL_CE/df||: the gradient norm of
the loss's extra terms (e.g. ``loss_hypersphere``) over that of torchvision's
``loss_classifier``, both at the box-head features f the predictor receives. It costs two
backward passes through the predictor (one linear layer) and no host sync.

TorchScript cannot compile ``super()``; scripting therefore compiles torchvision's
forward (bound here as ``_torchvision_forward``) and skips the training extras, so a
converted model scripts and exports exactly as the stock one does.
"""
from __future__ import annotations

import types
from typing import Callable, Optional

import torch
from torch import Tensor
from torchvision.models.detection.roi_heads import RoIHeads

from .losses.base import ClassificationLoss, call_extra_losses


def _alias(function: Callable, name: str) -> Callable:
    """A copy of ``function`` under another name: TorchScript compiles a method under
    its function's ``__name__``, so torchvision's ``forward`` must be renamed to live
    beside ours."""
    alias = types.FunctionType(
        function.__code__, function.__globals__, name, function.__defaults__, function.__closure__
    )
    alias.__kwdefaults__ = function.__kwdefaults__
    alias.__annotations__ = dict(function.__annotations__)
    alias.__module__ = function.__module__
    alias.__qualname__ = function.__qualname__.rsplit(".", 1)[0] + "." + name
    return alias


class HypersphereRoIHeads(RoIHeads):
    """RoIHeads whose box classifier is trained with ``cls_loss`` (e.g. HypersphereLoss).

    Build it by converting a torchvision detector (``hl_detect.convert_to_hypersphere``)
    or with ``HypersphereRoIHeads(cls_loss=..., <RoIHeads arguments>)``.
    Training returns torchvision's ``loss_classifier`` and ``loss_box_reg`` (plus mask /
    keypoint losses) and the loss's extra terms, e.g. ``loss_hypersphere``.
    """

    # torchvision's own methods, reachable without super() so TorchScript can compile them
    _torchvision_forward = _alias(RoIHeads.forward, "_torchvision_forward")
    _torchvision_select_training_samples = _alias(
        RoIHeads.select_training_samples, "_torchvision_select_training_samples"
    )

    def __init__(self, *args, cls_loss: Optional[ClassificationLoss] = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cls_loss = cls_loss
        self._sampled_labels: Optional[Tensor] = None
        self._rois_per_image: list[int] = []
        self.measure_grad_ratio = False
        self.last_grad_ratio: Optional[Tensor] = None

    def select_training_samples(self, proposals: list[Tensor], targets: Optional[list[dict[str, Tensor]]]):
        out = self._torchvision_select_training_samples(proposals, targets)
        if not torch.jit.is_scripting():
            self._remember_labels(out[2])
        return out

    def forward(
        self,
        features: dict[str, Tensor],
        proposals: list[Tensor],
        image_shapes: list[tuple[int, int]],
        targets: Optional[list[dict[str, Tensor]]] = None,
    ) -> tuple[list[dict[str, Tensor]], dict[str, Tensor]]:
        if torch.jit.is_scripting():
            return self._torchvision_forward(features, proposals, image_shapes, targets)
        return self._forward_with_loss(features, proposals, image_shapes, targets)

    @torch.jit.unused
    def _remember_labels(self, labels: list[Tensor]) -> None:
        self._sampled_labels = torch.cat(labels, dim=0)
        self._rois_per_image = [int(x.shape[0]) for x in labels]  # shapes: host-side, no sync

    @torch.jit.unused
    def _forward_with_loss(self, features, proposals, image_shapes, targets):
        if not self.training or self.cls_loss is None:
            return self._torchvision_forward(features, proposals, image_shapes, targets)
        tapped: dict[str, Tensor] = {}

        def tap(module, inputs, output):
            # box-head output f_i of the sampled RoIs, and margin logits if the loss wants them
            features_ = inputs[0].flatten(start_dim=1)
            labels = self._sampled_labels
            tapped["features"] = features_
            tapped["input"] = inputs[0]
            logits, box_regression = output
            tapped["logits"] = self.cls_loss.training_logits(logits, features_, labels)
            return tapped["logits"], box_regression

        handle = self.box_predictor.register_forward_hook(tap)
        try:
            result, losses = self._torchvision_forward(features, proposals, image_shapes, targets)
        finally:
            handle.remove()
            labels, self._sampled_labels = self._sampled_labels, None
        if "features" not in tapped or labels is None:
            raise RuntimeError(
                "torchvision's RoIHeads.forward no longer calls select_training_samples/box_predictor "
                "as hl_detect expects; please report the torchvision version"
            )
        replaced = self.cls_loss.classifier_loss(tapped["logits"], labels)
        if replaced is not None:  # torchvision's CE of the same logits is dropped (no gradient reaches it)
            losses["loss_classifier"] = replaced
        extra = call_extra_losses(self.cls_loss, tapped["features"], labels, self._rois_per_image)
        if self.measure_grad_ratio:
            self.measure_grad_ratio = False
            self.last_grad_ratio = extra_to_ce_grad_ratio(losses["loss_classifier"], extra, tapped["input"])
        losses.update(extra)
        return result, losses


def extra_to_ce_grad_ratio(loss_ce: Tensor, extra: dict[str, Tensor], features: Tensor) -> Optional[Tensor]:
    """||d(sum of extra terms)/df|| / ||dCE/df|| at the box-head features f (a 0-d tensor).

    None when there is no extra term or no graph (a no_grad pass); 0 during a warm start."""
    if not extra or not features.requires_grad or not torch.is_grad_enabled():
        return None
    total = sum(extra.values())
    if not total.requires_grad:
        return None
    (g_extra,) = torch.autograd.grad(total, features, retain_graph=True, allow_unused=True)
    (g_ce,) = torch.autograd.grad(loss_ce, features, retain_graph=True)
    if g_extra is None:
        return torch.zeros((), device=features.device)
    return (torch.linalg.vector_norm(g_extra.float()) / torch.linalg.vector_norm(g_ce.float()).clamp(min=1e-30)).detach()
