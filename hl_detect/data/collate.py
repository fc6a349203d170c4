"""Batching for detection: images differ in size, so a batch is two lists, as torchvision's
detection models take them (list of [3, H, W] images, list of target dicts)."""
from __future__ import annotations


def collate_fn(batch):
    """[(image, target), ...] -> (list of images, list of targets)."""
    images, targets = zip(*batch) if batch else ((), ())
    return list(images), list(targets)
