"""``evaluate``: run a detector over a loader and feed the DetectionEvaluator.

The result also says how many images the split lists (``num_images_listed``) beside the
``num_images`` scored, and which were unusable (``bad_images``), so a report can say
"N of M images". Predictions come back in the coordinates of the images the loader gave; the evaluator
maps them to the original image size (targets carry ``orig_size``/``size``). The same
pass optionally collects ground-truth RoI features for the TensorBoard projector and the
hypersphere diagnostics.

Progress (engine/progress.py): a bar on a terminal, else about ten ``[eval]`` lines per pass
and one with the count done; both count the batches this pass evaluates, which
``max_images`` may make far fewer than the loader holds.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch

from ..data.bad_images import image_coverage
from ..distributed import is_main_process
from .embeddings import gt_roi_features
from .progress import step_progress
from .train_loop import move_to


def batches_to_evaluate(loader, max_images: Optional[int]) -> Optional[int]:
    """How many batches the pass below reads: the loader's, or with ``max_images`` the
    batches that hold them (full batches; a shorter one is counted when the pass ends).
    None where the loader's length or batch size is unknown."""
    try:
        batches = len(loader)
    except TypeError:  # an iterable without a length
        return None
    if max_images is None:
        return batches
    batch_size = getattr(loader, "batch_size", None) or getattr(getattr(loader, "batch_sampler", None), "batch_size", None)
    if not batch_size:
        return batches
    return min(batches, math.ceil(max_images / batch_size))


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
    say: Callable = print,
    print_freq: Optional[int] = None,
) -> tuple[dict, Optional[tuple[torch.Tensor, torch.Tensor]]]:
    """Returns (evaluator.compute() result, (features, labels) of up to ``collect_features`` GT objects).

    Off a terminal, progress is a ``[eval] batch`` line every ``print_freq`` batches (the run's
    ``--print-freq``); without one, about ten lines per pass."""
    model.eval()
    evaluator.reset()
    seen = 0
    feats, labels = [], []
    collected, batches = 0, 0
    total = batches_to_evaluate(loader, max_images)
    if print_freq is not None:
        every = max(1, int(print_freq))
    else:
        every = max(1, math.ceil(total / 10)) if total else 20  # about ten lines per pass in a piped log
    bar = step_progress(total, enabled=progress and is_main_process(), every=every, say=say, bar_desc="eval",
                        line_prefix="[eval] batch", final_line=True)
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
        batches += 1
        bar.update(batches)
    bar.close()
    result = evaluator.compute()
    result.update(image_coverage(loader))
    embedding = (torch.cat(feats)[:collect_features], torch.cat(labels)[:collect_features]) if feats else None
    return result, embedding
