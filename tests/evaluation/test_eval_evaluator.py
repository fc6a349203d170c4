"""DetectionEvaluator: batching, mapping back to original coordinates, 2-rank gloo merge."""
import json
import os

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from hl_detect.evaluation import (DetectionEvaluator, evaluate_voc, make_detections,
                                  make_ground_truth, mean_ap, to_devkit_frame)
from hl_detect.evaluation.synthetic_results import synthetic_results

C = 5


def run(preds, tgts, batch=None, **kw):
    ev = DetectionEvaluator(C, [f"c{i}" for i in range(1, C + 1)], **kw)
    batch = batch or len(preds)
    for i in range(0, len(preds), batch):
        ev.update(preds[i:i + batch], tgts[i:i + batch])
    return ev.compute()


@pytest.fixture(scope="module")
def data():
    return synthetic_results(40, C, max_dets=30, seed=3)


def test_batch_by_batch_equals_all_at_once_and_reset(data):
    preds, tgts = data
    full = run(preds, tgts, coco=True, checkout=True, checkout_oracle_sweep=True)
    assert run(preds, tgts, batch=3, coco=True, checkout=True, checkout_oracle_sweep=True) == full
    json.dumps(full, allow_nan=False)  # plain JSON, NaN already None
    for key in ("mAP50_area", "mAP50_voc07", "mAP_50_95", "box_accuracy", "box_coverage"):
        assert 0.0 < full[key] <= 1.0
    assert set(full["coco"]) == {"AP", "AP50", "AP75"}
    assert {"cAcc", "ACD", "mCCD", "mCIoU", "oracle"} <= set(full["checkout"])
    assert len(full["per_class"]["ap50_area"]) == C
    ev = DetectionEvaluator(C)
    ev.update(preds[:5], tgts[:5])
    ev.reset()
    ev.update(preds, tgts)
    assert ev.compute()["mAP50_area"] == full["mAP50_area"]


def test_matches_functional_core_with_devkit_frame(data):
    preds, tgts = data
    dets = make_detections(np.concatenate([[t["image_id"]] * len(p["scores"])
                                           for p, t in zip(preds, tgts)]),
                           torch.cat([p["labels"] for p in preds]),
                           torch.cat([p["scores"] for p in preds]).double(),
                           torch.cat([p["boxes"] for p in preds]).double())
    gts = make_ground_truth(np.concatenate([[t["image_id"]] * len(t["labels"]) for t in tgts]),
                            torch.cat([t["labels"] for t in tgts]),
                            torch.cat([t["boxes"] for t in tgts]).double(),
                            torch.cat([t["difficult"] for t in tgts]))
    devkit = evaluate_voc(dets._replace(boxes=to_devkit_frame(dets.boxes)),
                          gts._replace(boxes=to_devkit_frame(gts.boxes)), C, plus_one=True)
    res = run(preds, tgts, plus_one=True)
    assert res["mAP50_area"] == mean_ap(devkit["ap_area"][0], devkit["npos"])
    # on continuous boxes the devkit +1 cancels the x1/y1 shift: same AP up to rounding
    assert res["mAP50_area"] == pytest.approx(run(preds, tgts)["mAP50_area"], abs=1e-3)


def test_boxes_mapped_back_to_original_coordinates(data):
    # the synthetic images play the resized ones; the originals are 2x wider and 4x taller
    # (powers of two, so the mapping is exact and results must be identical)
    preds, tgts = data
    up = torch.tensor([2.0, 4.0, 2.0, 4.0])
    orig_p, orig_t, resized_t, with_orig = [], [], [], []
    for p, t in zip(preds, tgts):
        h, w = t["size"].tolist()
        orig_size = torch.tensor([4 * h, 2 * w])
        orig_p.append({**p, "boxes": p["boxes"] * up})
        orig_t.append({**t, "boxes": t["boxes"] * up, "orig_size": orig_size,
                       "size": orig_size})
        resized_t.append({**t, "orig_size": orig_size})
        # orig_boxes is preferred over mapping boxes back when present
        with_orig.append({**resized_t[-1], "orig_boxes": t["boxes"] * up, "boxes": t["boxes"] * 0})
    ref = run(orig_p, orig_t)
    assert run(preds, resized_t) == ref
    # GT taken from orig_boxes as is: this only matches if the predictions were mapped back
    assert run(preds, with_orig) == ref


def _worker(rank, world, init_file, out_dir, n_images):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=world)
    preds, tgts = synthetic_results(n_images, C, max_dets=30, seed=3)
    # DistributedSampler-style split with padding: rank r takes r, r + world, ... (one repeat)
    idx = list(range(n_images)) + list(range(n_images))[:(-n_images) % world]
    mine = idx[rank::world]
    ev = DetectionEvaluator(C, [f"c{i}" for i in range(1, C + 1)], coco=True, checkout=True)
    for i in range(0, len(mine), 4):
        ev.update([preds[j] for j in mine[i:i + 4]], [tgts[j] for j in mine[i:i + 4]])
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump(ev.compute(), f)
    dist.destroy_process_group()


def test_two_process_gloo_merge_equals_single_process(tmp_path):
    n_images = 39  # odd: the sampler pads rank 1 with a repeat of image 0
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(tmp_path), n_images), nprocs=2)
    preds, tgts = synthetic_results(n_images, C, max_dets=30, seed=3)
    single = json.loads(json.dumps(run(preds, tgts, coco=True, checkout=True)))
    for rank in range(2):
        with open(tmp_path / f"rank{rank}.json") as f:
            assert json.load(f) == single
