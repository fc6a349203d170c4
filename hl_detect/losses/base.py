"""The interface every box-classification loss implements for the RoIHeads plugin.

Shapes: R sampled RoIs of a training step, d box-head feature size, C foreground
classes (labels 0..C, 0 = background, torchvision's convention).

The RoIHeads plugin gives a loss four chances to act, all during training only:
  - ``adapt_predictor(predictor)`` once at conversion, to swap the classifier layer
    (e.g. a normalized one for CosFace/ArcFace); the default keeps it unchanged;
  - ``training_logits(logits, features, labels)`` between the predictor and
    torchvision's cross-entropy, to add margins; the default returns the logits;
  - ``classifier_loss(logits, labels)`` to replace torchvision's mean cross-entropy
    ``loss_classifier`` by another function of the (training) logits, e.g. a per-RoI
    reweighting (HML); the default returns None and keeps torchvision's value;
  - ``extra_losses(features, labels, rois_per_image)`` after torchvision's losses,
    returning named extra terms that are added to the loss dict (e.g.
    ``loss_hypersphere``); ``rois_per_image`` lists how many of the R rows belong to
    each image, in order (host-side ints), for losses defined per image.
Inference never calls any of them, so eval outputs stay torchvision's.

State (centers, step counters) changes only in a *training step*: train mode with
gradients enabled (``is_training_step``). torchvision returns losses only in train
mode, so a validation-loss pass runs in train mode under ``torch.no_grad()``; it gets
the loss values and leaves every buffer as it was, with no collective.
"""
from __future__ import annotations

import functools
import inspect

import torch
from torch import Tensor, nn

from ..distributed import all_reduce_sum_


class ClassificationLoss(nn.Module):
    """Base class: plain softmax cross-entropy, i.e. torchvision's loss unchanged."""

    #: short name used by configs and ``--loss``
    name = "softmax"
    #: tensors (buffers or parameters) that stay float32 under ``.half()`` / ``.to(bfloat16)``
    float32_state: tuple[str, ...] = ()
    #: the same for float64 tensors (running sums that must not round)
    float64_state: tuple[str, ...] = ()
    #: the group a stateful loss all-reduces its class sums over (None: the whole world);
    #: ``hl_detect.bind_process_group(ddp_model)`` sets it to DDP's own group
    process_group = None
    #: a weak reference to the DDP wrapper once bound: its join state is checked before each collective
    _ddp = None

    def sum_over_ranks(self, sums: Tensor, counts: Tensor) -> tuple[Tensor, Tensor]:
        """Per-class sums [K, d] and counts [K] summed over the ranks of ``process_group``,
        as one collective on a packed [K, d + 1] tensor (a no-op in a single process)."""
        self.check_collective_allowed()
        packed = all_reduce_sum_(torch.cat([sums, counts[:, None]], dim=1), self.process_group)
        return packed[:, :-1], packed[:, -1]

    def check_collective_allowed(self) -> None:
        """Raise a clear error before a collective that DDP's uneven-input ``join()`` cannot shadow."""
        ddp = self._ddp() if self._ddp is not None else None
        config = getattr(ddp, "_join_config", None)
        if config is not None and getattr(config, "enable", False):
            raise RuntimeError(
                f"{type(self).__name__} all-reduces its class sums inside the forward, which "
                "DistributedDataParallel.join() does not shadow for ranks that ran out of data: the ranks "
                "would deadlock. Give every rank the same number of batches (DistributedSampler with "
                "drop_last, as tools/train_det.py does) instead of join()."
            )

    def step(self) -> None:
        """Called by a training loop after each optimizer step (see HypersphereLoss's
        ``count_steps="optimizer"``); nothing to do for stateless losses."""

    def _apply(self, fn, recurse=True):
        # a dtype cast of the whole model must not round the centers (the spec's AMP rule):
        # keep their float32 values and take only the device the conversion chose
        # .data: an alias of the old storage, which survives both a buffer's replacement
        # and a parameter's in-place ``param.data = ...``
        kept = {**{n: torch.float32 for n in self.float32_state}, **{n: torch.float64 for n in self.float64_state}}
        before = {name: getattr(self, name).data for name in kept if getattr(self, name, None) is not None}
        result = super()._apply(fn, recurse)
        for name, old in before.items():
            new = getattr(self, name)
            if new.dtype != kept[name] and old.dtype == kept[name]:
                new.data = old.to(device=new.device)
        return result

    def adapt_predictor(self, predictor: nn.Module) -> nn.Module:
        return predictor

    def training_logits(self, logits: Tensor, features: Tensor, labels: Tensor) -> Tensor:
        return logits

    def classifier_loss(self, logits: Tensor, labels: Tensor) -> Tensor | None:
        """``loss_classifier`` from the training logits [R, C + 1] and labels [R]; None keeps
        torchvision's ``F.cross_entropy(logits, labels)``."""
        return None

    def extra_losses(self, features: Tensor, labels: Tensor, rois_per_image=None) -> dict[str, Tensor]:
        return {}

    def is_training_step(self) -> bool:
        """True for a forward that will be trained on: train mode with gradients enabled."""
        return self.training and torch.is_grad_enabled() and not torch.is_inference_mode_enabled()


class SoftmaxLoss(ClassificationLoss):
    """``softmax``: torchvision's CE alone (the baseline of Tables VIII/IX)."""


@functools.lru_cache(maxsize=None)
def _takes_rois_per_image(loss_type: type) -> bool:
    parameters = inspect.signature(loss_type.extra_losses).parameters
    return "rois_per_image" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def call_extra_losses(loss: ClassificationLoss, features: Tensor, labels: Tensor, rois_per_image) -> dict[str, Tensor]:
    """``loss.extra_losses`` with the per-image RoI counts when it takes them; a loss written
    against the older two-argument interface keeps working."""
    if _takes_rois_per_image(type(loss)):
        return loss.extra_losses(features, labels, rois_per_image)
    return loss.extra_losses(features, labels)
