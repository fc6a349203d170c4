"""Which training samples a run reads, in which order, with which augmentation seed.

All of it is a pure function of (seed, rank, epoch, position in the epoch), so a run resumed
mid-epoch reads exactly the batches the uninterrupted run would have read next, augmented the
same way, without reading the batches already done, with any number of loader workers:

- the epoch's permutation: a ``RandomSampler``'s generator reseeded with seed * 1000 + epoch,
  or ``DistributedSampler.set_epoch(epoch)``;
- sample j of batch b: its augmentation is seeded with SeedSequence([seed, rank, epoch, b, j])
  (``SeededSamples`` reseeds the dataset's transform just before reading it), so it does not
  depend on which worker reads it or on what that worker read before;
- the loader workers (the "worker seed rule"): the DataLoader's own generator is reseeded with
  SeedSequence([seed, rank, epoch]) at each epoch, torch seeds worker w with that draw + w, and
  ``seed_worker`` seeds NumPy and Python from it, as torch's reproducibility notes describe.
  Caveat: with persistent workers torch draws the workers' base seed only when the loader's
  iterator is first created, so after epoch 0 the workers keep epoch 0's seeds, and a run
  resumed at epoch e starts them from epoch e's. The built-in transforms do not care (each
  sample reseeds Python, NumPy and albumentations itself); a user transform that draws from
  torch's global generator inside a worker is not covered by the exact-resume guarantee.
"""
from __future__ import annotations

import random
from itertools import islice
from typing import Optional

import numpy as np
import torch
from torch.utils.data import Dataset, DistributedSampler, RandomSampler, Sampler

RULE = "v1"  # bump when any formula above changes: a checkpoint of another rule resumes inexactly


def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence([p % 2**63 for p in parts]).generate_state(1, np.uint64)[0])


class EpochBatches(Sampler):
    """A batch sampler positioned at (epoch, batches done); yields [(index, augmentation seed), ...].

    Wraps any batch sampler (torch's BatchSampler, GroupedBatchSampler) over ``sampler``;
    ``loader_generator`` is the DataLoader's ``generator`` (the worker seed rule)."""

    def __init__(self, batch_sampler, sampler, seed: int, rank: int = 0,
                 loader_generator: Optional[torch.Generator] = None) -> None:
        self.batch_sampler, self.sampler, self.seed, self.rank = batch_sampler, sampler, int(seed), int(rank)
        self.loader_generator = loader_generator
        self.epoch, self.skip = 0, 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        """Every iteration from now yields epoch ``epoch`` from its batch ``skip`` on; call it
        before ``iter(loader)``, which draws the workers' base seed from the loader's generator."""
        self.epoch, self.skip = int(epoch), int(skip)
        if self.loader_generator is not None:
            self.loader_generator.manual_seed(_seed(self.seed, self.rank, epoch))

    def sample_seed(self, batch: int, j: int) -> int:
        return _seed(self.seed, self.rank, self.epoch, batch, j)

    def state_dict(self) -> dict:
        return {"rule": RULE, "seed": self.seed, "epoch": self.epoch, "num_batches": len(self.batch_sampler)}

    def __len__(self) -> int:
        return max(0, len(self.batch_sampler) - self.skip)

    def __iter__(self):
        # the epoch's permutation afresh at every iteration, whatever drew from the sampler before
        if isinstance(self.sampler, DistributedSampler):
            self.sampler.set_epoch(self.epoch)
        elif isinstance(self.sampler, RandomSampler) and self.sampler.generator is not None:
            self.sampler.generator.manual_seed(self.seed * 1000 + self.epoch)
        # the skipped batches cost only their indices (the sampler's permutation), no image is read
        batches = islice(iter(self.batch_sampler), self.skip, None)
        for b, batch in enumerate(batches, start=self.skip):
            yield [(int(i), self.sample_seed(b, j)) for j, i in enumerate(batch)]


class SeededSamples(Dataset):
    """``dataset[(index, seed)]`` = ``dataset[index]`` with its augmentation drawn from ``seed``."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item):
        index, seed = item
        reseed = getattr(getattr(self.dataset, "transforms", None), "reseed", None)
        if reseed is not None:
            reseed(seed)
        else:  # a transform of the user's: the global generators are what it can draw from
            random.seed(seed)
            np.random.seed(seed % 2**32)
        return self.dataset[index]


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: NumPy and Python seeded from the worker's torch seed."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)
