from collections import Counter

import torch
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler

from hl_detect.data import (GroupedBatchSampler, build_dataset, build_eval_transforms, collate_fn,
                            compute_aspect_ratios, create_aspect_ratio_groups)


def test_collate_keeps_lists():
    a = (torch.zeros(3, 4, 5), {"image_id": 1})
    b = (torch.zeros(3, 6, 2), {"image_id": 2})
    images, targets = collate_fn([a, b])
    assert [i.shape[1:] for i in images] == [(4, 5), (6, 2)]
    assert [t["image_id"] for t in targets] == [1, 2]


def test_groups_by_hand():
    assert create_aspect_ratio_groups([0.5, 1.0, 1.5, 0.75], k=0) == [0, 1, 1, 0]
    # k = 1: bins 0.5, 1, 2 -> groups 0 (< 0.5), 1, 2, 3 (>= 2)
    assert create_aspect_ratio_groups([0.4, 0.5, 0.9, 1.0, 1.9, 2.5], k=1) == [0, 1, 1, 2, 2, 3]


def test_grouped_batches_are_single_group_and_full():
    ratios = [0.75] * 7 + [1.33] * 10 + [1.0] * 4
    groups = create_aspect_ratio_groups(ratios, k=0)
    for sampler in (SequentialSampler(ratios), RandomSampler(ratios, generator=torch.Generator().manual_seed(0))):
        batches = list(GroupedBatchSampler(sampler, groups, batch_size=3))
        assert len(batches) == len(ratios) // 3 == len(GroupedBatchSampler(sampler, groups, 3))
        for b in batches:
            assert len(b) == 3 and len({groups[i] for i in b}) == 1
        seen = Counter(i for b in batches for i in b)
        # the full batches alone cover all but the leftovers of each group
        assert len(seen) >= len(ratios) - 2 * 2


def test_dataloader_end_to_end(tiny_dataset):
    ds = build_dataset("synthetic", tiny_dataset.root, "train", train=False,
                       transforms=build_eval_transforms(min_size=64, max_size=128),
                       num_train=8, num_test=4, image_size=128)
    ratios = compute_aspect_ratios(ds)
    assert ratios == [w / h for h, w in (ds.get_height_and_width(i) for i in range(len(ds)))]
    groups = create_aspect_ratio_groups(ds)
    loader = DataLoader(ds, batch_sampler=GroupedBatchSampler(SequentialSampler(ds), groups, 2),
                        collate_fn=collate_fn)
    n = 0
    for images, targets in loader:
        assert len(images) == len(targets) == 2
        assert len({i.shape[2] >= i.shape[1] for i in images}) == 1  # one side of w/h = 1
        n += 1
    assert n == len(ds) // 2
