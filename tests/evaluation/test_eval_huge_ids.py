"""Image ids are integers end to end: ids above 2**53 (where float64 merges neighbours) give
exactly the results of the same images under small ids, COCO AP and checkout included."""
import json

import numpy as np
import pytest
import torch

from hl_detect.evaluation import DetectionEvaluator
from test_eval_coco_agreement import coco_style_case


def per_image(case, ids):
    """The flat case as evaluator input: predictions and targets per image, image k -> ids[k]."""
    dets, gts = case[0], case[1]
    preds, targets = [], []
    for k, image_id in enumerate(ids):
        d, g = dets.images == k, gts.images == k
        preds.append({"boxes": torch.tensor(dets.boxes[d]), "scores": torch.tensor(dets.scores[d]),
                      "labels": torch.tensor(dets.labels[d])})
        targets.append({"boxes": torch.tensor(gts.boxes[g]), "labels": torch.tensor(gts.labels[g]),
                        "image_id": image_id, "difficult": torch.zeros(int(g.sum()), dtype=torch.bool)})
    return preds, targets


def evaluate(case, ids, count_rule):
    ev = DetectionEvaluator(5, coco=True, checkout=True, checkout_oracle_sweep=True, checkout_count_rule=count_rule)
    preds, targets = per_image(case, ids)
    ev.update(preds, targets)
    return ev.compute()


@pytest.mark.parametrize("count_rule", ["per_class", "agnostic"])
def test_ids_above_2_pow_53_score_like_small_ids(count_rule):
    case = coco_style_case(3, n_images=40)
    reference = evaluate(case, list(range(1, 41)), count_rule)
    for base in (2**53, 2**62):
        ids = [base + k for k in range(40)]  # float64: 2**53 + 1 == 2**53, so neighbours would merge
        assert len({float(i) for i in ids}) < len(ids)
        got = evaluate(case, ids, count_rule)
        assert got["num_images"] == 40
        assert json.dumps(got, sort_keys=True) == json.dumps(reference, sort_keys=True)
        assert reference["coco"]["AP"] > 0.1  # a real score, not an empty one


def test_coco_loader_keeps_huge_ids_exact(tmp_path):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
    from data_helpers import write_coco, write_image
    from hl_detect.data import COCODetection

    ids = [2**53 + 1, 2**53 + 2, 2**63 - 1]
    for i in ids:
        write_image(tmp_path / f"{i}.jpg", 20, 20)
    ann = write_coco(tmp_path / "a.json", [dict(id=i, file_name=f"{i}.jpg") for i in ids],
                     [dict(id=k, image_id=i, category_id=1, bbox=[1, 1, 5, 5]) for k, i in enumerate(ids, 1)],
                     [dict(id=1, name="x")])
    ds = COCODetection(ann, tmp_path, train=False)
    assert [ds[k][1]["image_id"] for k in range(3)] == ids
    assert np.array(ids, dtype=np.int64).tolist() == ids
