"""The train and test DataLoaders of a run, single process or DDP.

Training order and augmentation follow engine/data_order.py's rule; evaluation shards the
test set over ranks with no padding (ShardSampler), so no image is counted twice.
"""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler
from torch.utils.data.distributed import DistributedSampler

from .. import distributed as dist_utils
from ..data import GroupedBatchSampler, collate_fn, create_aspect_ratio_groups
from ..data.bad_images import SkipBadImages
from ..engine.data_order import EpochBatches, SeededSamples
from ..engine.worker_signals import worker_init


class ShardSampler(torch.utils.data.Sampler):
    """Every rank takes indices rank, rank + W, ...: no padding, so no image is evaluated twice."""

    def __init__(self, size: int, rank: int, world: int) -> None:
        self.indices = list(range(rank, size, world))

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def build_loaders(cfg: dict, train_set, test_set, distributed: bool):
    """(train loader, test loader, the train loader's EpochBatches: set its epoch before each pass).

    The training order and augmentations follow engine/data_order.py's rule, and both loaders
    have their own generators, so neither draws from torch's global one (which the RoI sampler
    uses and a checkpoint saves): evaluating more or less often does not change training."""
    rank, world = dist_utils.get_rank(), dist_utils.get_world_size()
    generator = torch.Generator().manual_seed(cfg["seed"])
    if distributed:
        sampler = DistributedSampler(train_set, shuffle=True, seed=cfg["seed"])
    else:
        sampler = RandomSampler(train_set, generator=generator)
    factor = cfg["data"]["aspect_ratio_group_factor"]
    if factor is not None and factor >= 0:
        batch_sampler = GroupedBatchSampler(sampler, create_aspect_ratio_groups(train_set, k=factor), cfg["batch_size"])
    else:
        batch_sampler = torch.utils.data.BatchSampler(sampler, cfg["batch_size"], drop_last=True)
    batches = EpochBatches(batch_sampler, sampler, cfg["seed"], rank, loader_generator=torch.Generator())
    workers = cfg["data"]["workers"]
    # an image that fails to decode is replaced (train) or left out (test), never raised: bad_images.py
    train_loader = DataLoader(SeededSamples(SkipBadImages(train_set, refill=True)), batch_sampler=batches, num_workers=workers, collate_fn=collate_fn,
                              persistent_workers=workers > 0, worker_init_fn=worker_init, generator=batches.loader_generator)
    eval_sampler = ShardSampler(len(test_set), rank, world) if distributed else SequentialSampler(test_set)
    test_loader = DataLoader(SkipBadImages(test_set, refill=False), batch_size=max(1, cfg["batch_size"]), sampler=eval_sampler, num_workers=workers,
                             collate_fn=collate_fn, worker_init_fn=worker_init, generator=torch.Generator().manual_seed(cfg["seed"]))
    return train_loader, test_loader, batches
