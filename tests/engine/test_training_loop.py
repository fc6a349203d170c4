"""The training loop's parts: when checkpoints are due, the resumable data order, the per-sample
augmentation seed, the random-state round trip, the log lines, optimizer-step counting."""
import random

import numpy as np
import pytest
import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler

from hl_detect.data import collate_fn
from hl_detect.data.checks import CLIPPED_BOX, DROPPED_OBJECT, SKIPPED_IMAGE, ProblemLog
from hl_detect.engine import load_checkpoint, rng_state
from hl_detect.engine.checkpoint import save_checkpoint
from hl_detect.engine.checkpoint_schedule import CheckpointSchedule
from hl_detect.engine.data_order import EpochBatches, SeededSamples
from hl_detect.engine.hooks import epoch_line
from hl_detect.errors import ConfigError
from hl_detect.run.train import build_datasets, build_loaders, data_problems_line, run_training
from tiny_runs import tiny_config


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_checkpoint_schedule_by_steps_and_by_minutes():
    by_steps = CheckpointSchedule(every_minutes=0, every_steps=3)
    assert [s for s in range(1, 10) if by_steps.due(s)] == [3, 6, 9]

    clock = Clock()
    by_time = CheckpointSchedule(every_minutes=0.5, every_steps=0, clock=clock)
    clock.now = 29.9
    assert not by_time.due(1)
    clock.now = 30.0
    assert by_time.due(2)
    by_time.saved()  # the 30 s count from the last write
    clock.now = 59.9
    assert not by_time.due(3)
    clock.now = 60.0
    assert by_time.due(4)

    off = CheckpointSchedule(every_minutes=0, every_steps=0, clock=clock)
    clock.now = 1e9
    assert not any(off.due(s) for s in range(1, 100))
    with pytest.raises(ConfigError, match="checkpoint_every_minutes"):
        CheckpointSchedule(every_minutes=-1)


class Recording(torch.utils.data.Dataset):
    """Returns its index; records what was read."""

    def __init__(self, n):
        self.n, self.read = n, []

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.read.append(i)
        return i, {}


def test_epoch_batches_skip_reads_only_the_rest_of_the_same_permutation():
    n, batch, seed, epoch = 10, 3, 7, 2
    sampler = RandomSampler(range(n), generator=torch.Generator())
    batches = EpochBatches(BatchSampler(sampler, batch, drop_last=True), sampler, seed, loader_generator=torch.Generator())
    # independent: the epoch's permutation as RandomSampler draws it, cut into full batches
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1000 + epoch)).tolist()
    expected = [order[i:i + batch] for i in range(0, n - batch + 1, batch)]

    batches.set_epoch(epoch)
    full = list(batches)
    assert [[i for i, _ in b] for b in full] == expected and list(batches) == full  # every pass alike
    batches.set_epoch(epoch, skip=2)
    assert len(batches) == 1 and list(batches) == full[2:]  # same indices, same augmentation seeds

    dataset = Recording(n)
    loader = DataLoader(SeededSamples(dataset), batch_sampler=batches, collate_fn=collate_fn,
                        generator=batches.loader_generator)
    assert [list(images) for images, _ in loader] == [expected[2]]
    assert dataset.read == expected[2]  # the skipped batches were never read

    batches.set_epoch(epoch + 1)
    other = list(batches)
    assert [[i for i, _ in b] for b in other] != expected and {s for b in other for _, s in b}.isdisjoint({s for b in full for _, s in b})


def test_augmentations_do_not_depend_on_the_worker_count(tiny_data, tmp_path):
    def first_epoch(workers):
        cfg = tiny_config(tiny_data, tmp_path, f"data.workers={workers}", "data.aspect_ratio_group_factor=0")
        train_set, test_set = build_datasets(cfg)
        loader, _, batches = build_loaders(cfg, train_set, test_set, distributed=False)
        batches.set_epoch(1)
        return [(img, t["boxes"]) for images, targets in loader for img, t in zip(images, targets)]

    one, two = first_epoch(0), first_epoch(2)
    assert len(one) == 8
    for (a, boxes_a), (b, boxes_b) in zip(one, two):
        assert torch.equal(a, b) and torch.equal(boxes_a, boxes_b)


def test_transform_reseed_makes_the_augmentation_a_function_of_the_seed(tiny_data, tmp_path):
    train_set, _ = build_datasets(tiny_config(tiny_data, tmp_path))
    seeded = SeededSamples(train_set)
    first = [seeded[(0, s)][0] for s in range(6)]
    seeded[(1, 99)]  # anything read in between changes nothing
    again = [seeded[(0, s)][0] for s in reversed(range(6))][::-1]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert len({a.sum().item() for a in first}) > 1  # different seeds, different augmentations


def test_random_state_round_trip_through_a_checkpoint(tmp_path):
    torch.manual_seed(1)
    np.random.seed(2)
    random.seed(3)
    save_checkpoint({"rng": rng_state.gather()}, tmp_path / "c.pt")
    drawn = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)], np.random.randn(1))
    torch.manual_seed(9)
    np.random.seed(9)
    random.seed(9)
    rng_state.restore(load_checkpoint(tmp_path / "c.pt")["rng"][0])  # weights_only=True reads it
    again = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)], np.random.randn(1))
    assert torch.equal(drawn[0], again[0]) and np.array_equal(drawn[1], again[1])
    assert drawn[2] == again[2] and np.array_equal(drawn[3], again[3])


def test_epoch_line_has_loss_lr_speed_and_the_evaluation_when_one_ran():
    means = {"loss_classifier": 0.5, "loss_box_reg": 0.25, "grad_ratio": 0.0123}
    line = epoch_line(3, means, 1e-3, 12.34, {"mAP50_area": 0.8912, "box_accuracy": 0.6055})
    assert line == ("[epoch 3] loss_classifier=0.5000 loss_box_reg=0.2500 lr=0.001 12.3 img/s"
                    " | extra/CE gradient ratio at the box features 0.0123 | AP@0.5 (area) 89.12 box accuracy 60.55")
    assert epoch_line(0, {"loss_classifier": 1.0}, 2e-4, 1.0) == "[epoch 0] loss_classifier=1.0000 lr=0.0002 1.0 img/s"


class Problems(list):
    def __init__(self, log):
        super().__init__(range(5))
        self.skipped = log


def test_data_problems_line_says_what_happened_to_each_kind():
    log = ProblemLog()
    log.add("a.jpg", "partly outside", CLIPPED_BOX)
    log.add("b.jpg", "partly outside", CLIPPED_BOX)
    log.add("c.jpg", "zero size", DROPPED_OBJECT)
    assert data_problems_line("train", Problems(log)) == (
        "[data] train: 5 images; at load time: 2 boxes clipped to their images, 1 object dropped "
        "(tools/check_dataset.py lists them)")
    log.add("d.jpg", "unreadable", SKIPPED_IMAGE)
    assert "1 image skipped" in data_problems_line("test", Problems(log))
    assert data_problems_line("test", Problems(ProblemLog())) is None


def test_optimizer_step_counting_reaches_hl_through_the_loop(tiny_data, tmp_path):
    # HL's count_steps="optimizer" counts the loop's step_losses calls; none would leave it in warm start
    cfg = tiny_config(tiny_data, tmp_path / "run", "epochs=1", "max_steps_per_epoch=3", "warmup_epochs=0.34",
                      "loss_options.hl.count_steps=optimizer", "data.workers=0", "eval_coco=false", "projector=false",
                      "prediction_pictures=0", "tensorboard_pictures=0")
    run_training(cfg, progress=False)
    model = load_checkpoint(tmp_path / "run" / "checkpoint.pt")["model"]
    assert model["roi_heads.cls_loss.num_steps"].item() == 3
    assert model["roi_heads.cls_loss.num_updates"].item() == 2  # after the 1-step warm start


def test_cuda_generators_of_another_device_count_are_not_restored_and_say_so(monkeypatch):
    """A checkpoint from a machine with another GPU count resumes, but not bit for bit: the
    restore says so (before, it skipped the CUDA generators without a word)."""
    state = rng_state.capture()
    state["cuda"] = [torch.zeros(16, dtype=torch.uint8)] * 3  # written where 3 GPUs were seen
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert rng_state.restore(state) == ("the checkpoint holds the generators of 3 CUDA devices, this process "
                                        "sees 1: they were not restored")
    del state["cuda"]
    assert rng_state.restore(state) is None
