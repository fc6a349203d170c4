"""Detections as a COCO results file: ``[{"image_id", "category_id", "bbox": [x, y, w, h], "score"}]``.

What other tools read (pycocotools' ``COCO.loadRes``, leaderboards, Detectron2's evaluators).
Boxes are in the original image's pixels, 0-based and continuous, with no +1 (COCO's
convention; our boxes are already so, hl_detect/data/base.py). Every detection the model
returned is written, none thresholded, so the file scores the same AP as the evaluation did.

Ids (docs/deploy.md says the same for users):
  - image_id: the dataset's own. A COCO-format file: its image ids. The demo data: the number
    in the file name (000009.jpg -> 9), also its id in the generated annotations/instances_<split>.json.
    VOC: voc_image_id's (2007_000123 -> 2007000123, VOC2007's 000005 -> 2007000005).
  - category_id: a COCO-format dataset's own ids, mapped back from our contiguous labels
    (``label_to_category_id``; a class that file cannot name is left out, counted). Otherwise
    (VOC, the demo, predict on image files) the model's category ids (those of the file it
    was trained on), or the label 1..C where it has none (VOC-trained): 1..C in the model's
    class order, which is also the demo's generated annotation files' numbering.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..atomic_files import output_file, write_text_atomic
from .coco_eval import xywh_boxes


def label_to_category_id(model_categories, dataset=None) -> dict[int, int]:
    """{model label: category id to write}. ``model_categories``: load_run's (dicts in label
    order, id None for a VOC-trained model); ``dataset``: the evaluated split.

    A COCO-format split's own mapping (``cat_id_to_label``, hl_detect/data/coco.py) wins: a
    model matched to it by name has no ids, and a file that renumbered merged categories has
    its own. A label it lacks keeps the model's id, which means the same category in any file
    the model was matched to by id; one with neither (a VOC-trained model's class the COCO
    file does not list) has no id in that file and is left out of the map, never given a
    number that could be another category's there."""
    mapping = getattr(dataset, "cat_id_to_label", None)
    ids = {k: int(c["id"]) for k, c in enumerate(model_categories, start=1) if c.get("id") is not None}
    if mapping is None:  # VOC or the demo's VOC layout: no file ids, the label is the id
        ids = {k: ids.get(k, k) for k in range(1, len(model_categories) + 1)}
    ids.update({int(label): int(cat_id) for cat_id, label in mapping.items()} if mapping else {})
    return ids


def coco_results(image_ids, labels, scores, boxes_xyxy, category_ids: dict[int, int]) -> tuple[list[dict], int]:
    """(one entry per detection, how many were left out for a label without a category id);
    flat arrays of D detections, boxes [D, 4] xyxy in original pixels."""
    xywh = xywh_boxes(boxes_xyxy)
    # ints and floats of Python: json cannot write numpy scalars, and a float image id would
    # round ids above 2**53 (RPC's are 13 digits) onto other images
    results = [{"image_id": int(i), "category_id": category_ids[int(c)], "bbox": [float(v) for v in b],
                "score": float(s)}
               for i, c, s, b in zip(image_ids, labels, scores, xywh) if int(c) in category_ids]
    return results, len(np.asarray(scores).reshape(-1)) - len(results)


def check_results_path(path) -> Path:
    """``path`` as the results file, checked before any work (a folder there is a user error)."""
    return output_file(path, "the COCO results file", "results.json")


def write_coco_results(path, results: list[dict]) -> Path:
    """Write ``results`` to ``path`` (folders made; old file or whole new one, never half)."""
    path = check_results_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(results))
    return path
