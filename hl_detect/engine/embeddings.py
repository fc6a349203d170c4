"""RoI features of ground-truth boxes, and what they say about the hypersphere loss.

Shapes: M ground-truth objects in a batch, d box-head feature size, K centers.
``gt_roi_features`` runs the model's own RoI pooling and box head on the ground-truth
boxes (the features the classifier sees for a perfectly placed box). ``center_stats``
turns them into the TensorBoard diagnostics: per-class mean distance to the class center,
the fraction of features inside the dead zone eps*a, the mean angle between centers, and
the feature norms.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor


@torch.no_grad()
def gt_roi_features(model: torch.nn.Module, images: list[Tensor], targets: list[dict]) -> tuple[Tensor, Tensor]:
    """([M, d] features, [M] labels) of the targets' boxes, through the model's box head."""
    model = getattr(model, "module", model)
    images_t, targets_t = model.transform(images, [{"boxes": t["boxes"], "labels": t["labels"]} for t in targets])
    features = model.backbone(images_t.tensors)
    if isinstance(features, Tensor):
        features = {"0": features}
    boxes = [t["boxes"] for t in targets_t]
    heads = model.roi_heads
    pooled = heads.box_roi_pool(features, boxes, images_t.image_sizes)
    roi_features = heads.box_head(pooled).flatten(start_dim=1)
    return roi_features.float(), torch.cat([t["labels"] for t in targets_t])


def center_stats(features: Tensor, labels: Tensor, loss: Optional[torch.nn.Module]) -> dict[str, object]:
    """Scalars and histograms for TensorBoard; center terms only when the loss has centers."""
    out: dict[str, object] = {"feature_norm": features.norm(dim=1)}
    centers = getattr(loss, "centers", None)
    if centers is None or features.numel() == 0:
        return out
    offset = getattr(loss, "label_offset", 1)
    centers = centers.float().to(features.device)
    keep = labels >= offset
    idx = labels[keep] - offset
    dist = (features[keep] - centers[idx]).norm(dim=1)
    dead_zone = getattr(loss, "dead_zone", None)
    if dead_zone is not None and len(dist):
        out["fraction_inside_dead_zone"] = float((dist < dead_zone).float().mean())
    per_class = torch.zeros(centers.shape[0]).index_add_(0, idx.cpu(), dist.cpu())
    counts = torch.zeros(centers.shape[0]).index_add_(0, idx.cpu(), torch.ones(len(idx)))
    out["distance_to_center"] = {int(k): float(per_class[k] / counts[k]) for k in range(len(counts)) if counts[k] > 0}
    out["mean_distance_to_center"] = float(dist.mean()) if len(dist) else float("nan")
    norms = centers.norm(dim=1)
    valid = norms > 0
    if int(valid.sum()) >= 2:
        unit = centers[valid] / norms[valid, None]
        cos = (unit @ unit.t()).clamp(-1, 1)
        off_diagonal = ~torch.eye(len(unit), dtype=torch.bool)
        out["mean_center_angle_deg"] = math.degrees(float(torch.arccos(cos[off_diagonal]).mean()))
    return out
