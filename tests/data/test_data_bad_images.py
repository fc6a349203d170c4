"""Bad images never kill a run: a corrupt JPEG, a truncated PNG and a zero-byte file in the
middle of a set are skipped and counted, batches stay full in training, evaluation leaves
them out and says "N of M images", and the run stops only past max_bad_images."""
import pytest
import torch
from torch.utils.data import DataLoader, SequentialSampler

from data_helpers import break_image, write_coco, write_image
from hl_detect.data import COCODetection, DatasetError, collate_fn
from hl_detect.data.bad_images import BadImageTracker, SkipBadImages, bad_image_limit

FILES = ["i0.jpg", "i1.jpg", "i2.jpg", "i3.jpg", "i4.png", "i5.jpg", "i6.jpg", "i7.jpg"]
BROKEN = {"i3.jpg": "corrupt-jpeg", "i4.png": "truncated-png", "i5.jpg": "zero-byte"}


def make_set(tmp_path, break_first: bool):
    for f in FILES:
        write_image(tmp_path / "img" / f, 40, 30, value=20 * int(f[1]))
    images = [dict(id=k + 1, file_name=f, width=40, height=30) for k, f in enumerate(FILES)]
    anns = [dict(id=k + 1, image_id=k + 1, category_id=1, bbox=[1, 1, 9, 9]) for k in range(len(FILES))]
    ann = write_coco(tmp_path / "a.json", images, anns, [dict(id=1, name="x")])
    if break_first:
        for f, how in BROKEN.items():
            break_image(tmp_path / "img" / f, how)
    ds = COCODetection(ann, tmp_path / "img", train=True)
    if not break_first:  # damaged after loading: every one of them fails only at decode time
        for f, how in BROKEN.items():
            break_image(tmp_path / "img" / f, how)
    return ds


def batches(ds, tracker, refill, workers=0, batch_size=2):
    loader = DataLoader(SkipBadImages(ds, refill=refill), batch_size=batch_size, sampler=SequentialSampler(ds),
                        num_workers=workers, collate_fn=collate_fn, drop_last=refill)
    return [[t["image_id"] for t in targets] for _, targets in tracker.wrap(loader)]


@pytest.mark.parametrize("workers", [0, 1])
def test_training_refills_with_the_next_readable_image(tmp_path, workers):
    ds = make_set(tmp_path, break_first=False)
    said = []
    tracker = BadImageTracker("train", ds, max_bad_images=3, say=said.append)
    got = batches(ds, tracker, refill=True, workers=workers)
    # by hand: positions 3, 4, 5 are bad, each takes the next readable one (id 7 at position 6)
    assert got == [[1, 2], [3, 7], [7, 7], [7, 8]]
    assert len(said) == 3 and all(f in " ".join(said) for f in BROKEN)
    assert "cannot read image" in said[0] and "(3 bad of 8, limit 3)" in said[2]
    c = tracker.counts()
    assert (c["bad_images"], c["at_load"], c["while_running"], c["of"]) == (3, 0, 3, 8)


def test_counts_survive_a_checkpoint_and_keep_the_limit(tmp_path):
    ds = make_set(tmp_path, break_first=False)
    first = BadImageTracker("train", ds, max_bad_images=3, say=lambda *_: None)
    batches(ds, first, refill=True)
    state = first.state_dict()
    resumed = BadImageTracker("train", ds, max_bad_images=3, say=lambda *_: None)
    resumed.load_state_dict(state)
    assert resumed.counts() == first.counts()  # the files met before the kill are still counted
    with pytest.raises(DatasetError, match="3 of 8 images"):  # and still count toward the limit
        BadImageTracker("train", ds, max_bad_images=2, say=lambda *_: None).load_state_dict(state)


def test_run_stops_past_the_limit_naming_the_files(tmp_path):
    ds = make_set(tmp_path, break_first=False)
    tracker = BadImageTracker("train", ds, max_bad_images=2, say=lambda *_: None)
    with pytest.raises(DatasetError, match=r"3 of 8 images of the train split cannot be used, more than "
                                           r"max_bad_images allows \(2\)") as e:
        batches(ds, tracker, refill=True)
    assert all(f in str(e.value) for f in BROKEN)
    with pytest.raises(DatasetError, match="1 of 8 images"):  # default: 1 % of 8 images is 0
        batches(ds, BadImageTracker("train", ds, say=lambda *_: None), refill=True)


def test_a_deferred_tracker_records_and_stops_only_at_check(tmp_path):
    """Under DDP (deferred) no rank stops alone mid-step: the limit is checked at checkpoints."""
    ds = make_set(tmp_path, break_first=False)
    tracker = BadImageTracker("train", ds, max_bad_images=2, say=lambda *_: None)
    tracker.deferred = True
    assert len(batches(ds, tracker, refill=True)) == 4  # the whole epoch, past the limit
    tracker.sync()  # one process: nothing to gather, nothing lost
    assert tracker.counts()["bad_images"] == 3
    with pytest.raises(DatasetError, match=r"3 of 8 images .* max_bad_images allows \(2\)"):
        tracker.check()


def test_header_failures_count_at_load(tmp_path):
    ds = make_set(tmp_path, break_first=True)  # the zero-byte file has no header to read
    assert len(ds) == 7 and ds.num_listed == 8
    (entry,) = ds.skipped.bad_images()
    assert entry.file.endswith("i5.jpg") and entry.kind == "unreadable image"
    tracker = BadImageTracker("train", ds, max_bad_images=3, say=lambda *_: None)
    batches(ds, tracker, refill=True)
    c = tracker.counts()
    assert (c["bad_images"], c["at_load"], c["while_running"]) == (3, 1, 2)


def test_evaluation_leaves_bad_images_out_and_says_so(tmp_path):
    from hl_detect.engine import evaluate
    from hl_detect.evaluation import DetectionEvaluator, format_table

    class NoDetections(torch.nn.Module):
        def forward(self, images):
            return [{"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0, dtype=torch.int64)}
                    for _ in images]

    ds = make_set(tmp_path, break_first=False)
    ds = COCODetection(tmp_path / "a.json", tmp_path / "img", train=False, check_sizes=False)
    tracker = BadImageTracker("test", ds, max_bad_images=3, say=lambda *_: None)
    loader = tracker.wrap(DataLoader(SkipBadImages(ds, refill=False), batch_size=3, collate_fn=collate_fn))
    assert [[t["image_id"] for t in b] for _, b in loader] == [[1, 2, 3], [7, 8]]  # batch 2 was all bad
    result, _ = evaluate(NoDetections(), loader, DetectionEvaluator(1, ["x"]), torch.device("cpu"), progress=False)
    assert result["num_images"] == 5 and result["num_images_listed"] == 8
    assert result["bad_images"]["bad_images"] == 3
    assert "scored on 5 of 8 images (3 unusable" in format_table(result)


def test_limit_rule():
    assert bad_image_limit(None, 8) == 0 and bad_image_limit(None, 16551) == 165
    assert bad_image_limit(0.05, 100) == 5 and bad_image_limit(3, 10) == 3
    with pytest.raises(ValueError):
        bad_image_limit(-1, 10)
