"""Aspect-ratio grouping, as torchvision's references/detection/group_by_aspect_ratio.py.

Images are put in groups by quantized aspect ratio w / h (from annotations, no decoding);
every batch holds indices of one group, so padded batches waste little.
"""
from __future__ import annotations

import bisect
from collections import defaultdict
from itertools import cycle, islice

import numpy as np
from torch.utils.data import BatchSampler, Sampler


def compute_aspect_ratios(dataset) -> list[float]:
    """w / h per image, via dataset.get_height_and_width(i)."""
    if hasattr(dataset, "aspect_ratios"):
        return list(dataset.aspect_ratios())
    return [w / h for h, w in (dataset.get_height_and_width(i) for i in range(len(dataset)))]


def create_aspect_ratio_groups(dataset_or_ratios, k: int = 0) -> list[int]:
    """Group id per image. k = 0: two groups (w/h < 1 and >= 1); else 2k+1 log-spaced bins
    between 0.5 and 2 (torchvision's quantization)."""
    ratios = dataset_or_ratios if isinstance(dataset_or_ratios, (list, tuple, np.ndarray)) \
        else compute_aspect_ratios(dataset_or_ratios)
    bins = (2 ** np.linspace(-1, 1, 2 * k + 1)).tolist() if k > 0 else [1.0]
    return [bisect.bisect_right(bins, float(r)) for r in ratios]


class GroupedBatchSampler(BatchSampler):
    """Batches of `batch_size` indices from `sampler` that share a group id.

    Yields len(sampler) // batch_size batches per epoch like torchvision's: incomplete
    groups left at the end are completed with earlier indices of the same group (re-drawn
    in sampler order), so every batch is full and single-group.
    """

    def __init__(self, sampler: Sampler, group_ids, batch_size: int):
        self.sampler = sampler
        self.group_ids = list(group_ids)
        self.batch_size = batch_size

    def __iter__(self):
        buffers, seen = defaultdict(list), defaultdict(list)
        num_batches = 0
        for idx in self.sampler:
            g = self.group_ids[idx]
            buffers[g].append(idx)
            seen[g].append(idx)
            if len(buffers[g]) == self.batch_size:
                yield buffers[g]
                num_batches += 1
                buffers[g] = []
        remaining = len(self) - num_batches
        if remaining <= 0:
            return
        # every leftover group holds < batch_size indices, so there are more of them than
        # `remaining`; complete the largest ones from earlier indices of the same group
        for g, buf in sorted(buffers.items(), key=lambda kv: len(kv[1]), reverse=True)[:remaining]:
            yield buf + list(islice(cycle(seen[g]), self.batch_size - len(buf)))

    def __len__(self) -> int:
        return len(self.sampler) // self.batch_size

