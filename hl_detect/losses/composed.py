"""``a+b``: two box-classification losses trained together, e.g. ``cosface+hl``.

Shapes: R sampled RoIs, d feature size. HL's penalty (``extra_losses``) does not depend
on the logits, so it composes with any logit loss: the first part may swap the
classifier and shape the logits (CosFace's margin), the others add their terms.
A part that replaces the cross-entropy (HML) reweights the first part's logits
(``arcface+hml``). Every part gets the same features and labels; their extra terms keep their own names
(``loss_hypersphere``, ``loss_center``, ...) and must not collide.
"""
from __future__ import annotations

from torch import Tensor, nn

from .base import ClassificationLoss, call_extra_losses


def _changes_logits(loss: ClassificationLoss) -> bool:
    cls = type(loss)
    return (cls.training_logits is not ClassificationLoss.training_logits
            or cls.adapt_predictor is not ClassificationLoss.adapt_predictor)


def _replaces_classifier_loss(loss: ClassificationLoss) -> bool:
    return type(loss).classifier_loss is not ClassificationLoss.classifier_loss


class ComposedLoss(ClassificationLoss):
    """Parts applied in order; at most one of them may change the classifier or the logits."""

    def __init__(self, parts: dict[str, ClassificationLoss]) -> None:
        super().__init__()
        if len(parts) < 2:
            raise ValueError("a composed loss needs at least two parts, e.g. 'cosface+hl'")
        shaping = [name for name, part in parts.items() if _changes_logits(part)]
        if len(shaping) > 1:
            raise ValueError(f"{'+'.join(parts)}: {' and '.join(shaping)} both change the classifier/logits; "
                             "combine one logit loss with penalty losses (e.g. cosface+hl)")
        replacing = [name for name, part in parts.items() if _replaces_classifier_loss(part)]
        if len(replacing) > 1:
            raise ValueError(f"{'+'.join(parts)}: {' and '.join(replacing)} both replace the cross-entropy")
        self.parts = nn.ModuleDict(parts)
        self.name = "+".join(parts)

    def adapt_predictor(self, predictor: nn.Module) -> nn.Module:
        for part in self.parts.values():
            predictor = part.adapt_predictor(predictor)
        return predictor

    def training_logits(self, logits: Tensor, features: Tensor, labels: Tensor) -> Tensor:
        for part in self.parts.values():
            logits = part.training_logits(logits, features, labels)
        return logits

    def classifier_loss(self, logits: Tensor, labels: Tensor):
        # e.g. arcface+hml: ArcFace's margin logits, HML's reweighted cross-entropy of them
        for part in self.parts.values():
            value = part.classifier_loss(logits, labels)
            if value is not None:
                return value
        return None

    def extra_losses(self, features: Tensor, labels: Tensor, rois_per_image=None) -> dict[str, Tensor]:
        out: dict[str, Tensor] = {}
        for name, part in self.parts.items():
            terms = call_extra_losses(part, features, labels, rois_per_image)
            clash = set(terms) & set(out)
            if clash:
                raise ValueError(f"{self.name}: {name} returns {sorted(clash)} again")
            out.update(terms)
        return out

    def _with_centers(self):
        return next((p for p in self.parts.values() if getattr(p, "centers", None) is not None), None)

    # the diagnostics (TensorBoard projector, distances) read these from the part that has centers
    @property
    def centers(self):
        part = self._with_centers()
        return None if part is None else part.centers

    @property
    def label_offset(self) -> int:
        return getattr(self._with_centers(), "label_offset", 1)

    @property
    def dead_zone(self):
        return getattr(self._with_centers(), "dead_zone", None)
