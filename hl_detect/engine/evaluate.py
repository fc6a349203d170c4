"""``evaluate``: run a detector over a loader and feed the DetectionEvaluator.

The result also says how many images the split lists (``num_images_listed``) beside the
``num_images`` scored, and which were unusable (``bad_images``), so a report can say
"N of M images". Predictions come back in the coordinates of the images the loader gave; the evaluator
maps them to the original image size (targets carry ``orig_size``/``size``). The same
pass optionally collects ground-truth RoI features for the TensorBoard projector and the
hypersphere diagnostics.
"""
from __future__ import annotations

from typing import Optional

import torch
from tqdm import tqdm

from ..data.bad_images import image_coverage
from ..distributed import is_main_process
from .embeddings import gt_roi_features
from .train_loop import move_to


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    loader,
    evaluator,
    device: torch.device,
    *,
    max_images: Optional[int] = None,
    collect_features: int = 0,
    progress: bool = True,
    amp: bool = False,
) -> tuple[dict, Optional[tuple[torch.Tensor, torch.Tensor]]]:
    """Returns (evaluator.compute() result, (features, labels) of up to ``collect_features`` GT objects)."""
    model.eval()
    evaluator.reset()
    seen = 0
    feats, labels = [], []
    collected = 0
    bar = tqdm(total=len(loader), desc="eval", disable=not (progress and is_main_process()), dynamic_ncols=True)
    for images, targets in loader:
        if max_images is not None and seen >= max_images:
            break
        images, targets = move_to(images, targets, device)
        with torch.autocast(device_type=device.type, enabled=amp):
            predictions = model(images)
        evaluator.update(predictions, targets)
        if collected < collect_features:
            f, y = gt_roi_features(model, images, targets)
            feats.append(f.cpu())
            labels.append(y.cpu())
            collected += len(y)
        seen += len(images)
        bar.update(1)
    bar.close()
    result = evaluator.compute()
    result.update(image_coverage(loader))
    embedding = (torch.cat(feats)[:collect_features], torch.cat(labels)[:collect_features]) if feats else None
    return result, embedding
