"""eval_det.py --save-results and predict.py --coco-results: files pycocotools reads back
against the dataset's own annotation file, holding the model's detections under the dataset's
image and category ids (hl_detect/evaluation/coco_results.py says which ids)."""
import json

import numpy as np
import pytest
import torch

from detection_compare import assert_same_detections
from tiny_runs import run_tool

pytestmark = pytest.mark.slow  # a training run and the tools, in subprocesses


def cocoeval(ann_file, results_file):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = COCO(str(ann_file))
    evaluation = COCOeval(gt, gt.loadRes(str(results_file)), iouType="bbox")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    return gt, evaluation.stats


def by_image(results) -> dict:
    """image id -> (boxes xyxy, category ids, scores) of a results list."""
    out = {}
    for image_id in {r["image_id"] for r in results}:
        mine = [r for r in results if r["image_id"] == image_id]
        xywh = np.array([r["bbox"] for r in mine])
        out[image_id] = (np.c_[xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], np.array([r["category_id"] for r in mine]),
                         np.array([r["score"] for r in mine]))
    return out


def raw_predictions(model, dataset):
    """image id -> the model's own detections (boxes in the original image's pixels, labels, scores)."""
    out = {}
    for i in range(len(dataset)):
        image, target = dataset[i]
        with torch.no_grad():
            prediction = model([image])[0]
        (h0, w0), (h, w) = target["orig_size"].tolist(), target["size"].tolist()
        boxes = prediction["boxes"].numpy() * np.array([w0 / w, h0 / h, w0 / w, h0 / h])
        out[int(target["image_id"])] = (boxes, prediction["labels"].numpy(), prediction["scores"].numpy())
    return out


@pytest.fixture(scope="module")
def eval_results(deploy_run, tiny_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    run_tool("eval_det.py", deploy_run, "--workers", "0", "--no-progress", "--batch-size", "1",
             "--output-dir", out, "--save-results", out / "results.json")
    return json.loads((out / "results.json").read_text()), json.loads((out / "eval_test.json").read_text()), out


def test_eval_results_score_against_the_datasets_annotation_file(deploy_run, tiny_data, eval_results):
    from hl_detect.data.splits import build_eval_dataset
    from hl_detect.run.load import load_run

    results, report, out = eval_results
    ann_file = tiny_data / "annotations" / "instances_test.json"  # the generator's COCO file of the test split
    gt, stats = cocoeval(ann_file, out / "results.json")
    assert stats[0] == pytest.approx(report["coco"]["AP"], abs=1e-9)  # the evaluation's own COCO AP
    model, cfg, categories = load_run(deploy_run, torch.device("cpu"))
    dataset = build_eval_dataset(cfg, categories=categories)
    # the demo's ids: the file name's number for images, the label 1..C for categories, as its COCO file numbers them
    assert {r.image_id for r in dataset.records} == set(gt.getImgIds()) == {9, 10, 11, 12}
    assert [gt.cats[k]["name"] for k in range(1, 21)] == [c["name"] for c in categories]
    expected = raw_predictions(model, dataset)  # category id = label here
    got = by_image(results)
    assert set(got) == set(expected)
    for image_id in expected:
        assert_same_detections(got[image_id], expected[image_id], atol=1e-4, what=f"image {image_id}")


def test_predict_results_match_evals_under_the_same_ids(deploy_run, tiny_data, eval_results, tmp_path):
    results, _, _ = eval_results
    ann_file = tiny_data / "annotations" / "instances_test.json"
    images = [tiny_data / "JPEGImages" / f"{k:06d}.jpg" for k in (9, 10, 11, 12)]
    # ids from the annotation file (tests/run/test_image_ids.py: from the file names without it)
    proc = run_tool("predict.py", deploy_run, *images, "--no-pictures", "--output-dir", tmp_path,
                    "--coco-results", tmp_path / "results.json", "--device", "cpu", "--image-ids", ann_file)
    assert f"COCO results image ids: those of {ann_file}" in proc.stdout
    cocoeval(ann_file, tmp_path / "results.json")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["coco_image_ids"] == {f"{k:06d}": k for k in (9, 10, 11, 12)}
    got, expected = by_image(json.loads((tmp_path / "results.json").read_text())), by_image(results)
    assert set(got) == set(expected)
    for image_id in expected:  # not only those above --min-score: all that eval scored
        assert_same_detections(got[image_id], expected[image_id], atol=1e-4, what=f"image {image_id}")


def test_a_coco_file_gets_its_own_ids_back(deploy_run, tiny_data, tmp_path):
    """A COCO file that numbers categories and images its own way (non-contiguous, reversed,
    ids above 2**53): results carry its ids, never our labels, and score against it."""
    from hl_detect.data import build_eval_transforms
    from hl_detect.data.coco import COCODetection
    from hl_detect.evaluation.coco_results import coco_results, label_to_category_id
    from hl_detect.run.load import load_run

    original = json.loads((tiny_data / "annotations" / "instances_test.json").read_text())
    new_cat = {c["id"]: 1000 - 7 * c["id"] for c in original["categories"]}
    new_img = {i["id"]: 2**53 + 1 + i["id"] for i in original["images"]}
    renumbered = {"images": [dict(i, id=new_img[i["id"]]) for i in original["images"]],
                  "categories": [dict(c, id=new_cat[c["id"]]) for c in original["categories"]],
                  "annotations": [dict(a, image_id=new_img[a["image_id"]], category_id=new_cat[a["category_id"]])
                                  for a in original["annotations"]]}
    ann_file = tmp_path / "renumbered.json"
    ann_file.write_text(json.dumps(renumbered))
    model, cfg, categories = load_run(deploy_run, torch.device("cpu"))  # names only: matched by name
    dataset = COCODetection(ann_file, tiny_data, train=False, transforms=build_eval_transforms(**cfg["data"]["resize"]),
                            model_categories=categories)
    ids = label_to_category_id(categories, dataset)
    names = {c["id"]: c["name"] for c in renumbered["categories"]}
    assert all(names[ids[k]] == c["name"] for k, c in enumerate(categories, start=1))
    raw = raw_predictions(model, dataset)
    assert set(raw) == set(new_img.values())  # the dataset keeps the file's image ids
    results, labels = [], []
    for image_id, (boxes, image_labels, scores) in raw.items():
        mine, left_out = coco_results([image_id] * len(scores), image_labels, scores, boxes, ids)
        assert left_out == 0 and len(mine) == len(scores) > 0
        results += mine
        labels += image_labels.tolist()
    assert [names[r["category_id"]] for r in results] == [categories[k - 1]["name"] for k in labels]
    (tmp_path / "results.json").write_text(json.dumps(results))
    gt, _ = cocoeval(ann_file, tmp_path / "results.json")
    assert {r["image_id"] for r in results} == set(gt.getImgIds())
