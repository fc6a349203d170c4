"""COCO AP through pycocotools' COCOeval on the same detections (a second opinion).

D detections, G objects (records.py), C classes: category ids are our labels 1..C.
``coco_ground_truth`` -> an in-memory ``pycocotools.coco.COCO``; ``coco_ap`` -> {"AP", "AP50",
"AP75", "stats"} with stats the 12 numbers of ``COCOeval.summarize``.

Conventions: boxes go in as xywh with no +1 (COCO); a difficult object becomes iscrowd=1, the
only "ignore" COCOeval honours (COCO crowd objects arrive here as difficult, so this round-trips;
for VOC difficult it is the closest equivalent). COCOeval keeps the 100 best detections per image.
"""
import contextlib
import io

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval


def xywh_boxes(boxes):
    """[N, 4] xyxy -> [N, 4] float64 x, y, w, h (COCO's bbox; no +1)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)


def coco_ground_truth(gts, num_classes, image_ids=None, class_names=None):
    """COCO object holding ``gts``; ``image_ids`` lists every image (also those without objects)."""
    image_ids = np.unique(gts.images) if image_ids is None else np.unique(image_ids)
    names = class_names or [str(c) for c in range(1, num_classes + 1)]
    xywh = xywh_boxes(gts.boxes)
    annotations = [
        {"id": k + 1, "image_id": int(img), "category_id": int(lab), "bbox": box.tolist(),
         "area": float(box[2] * box[3]), "iscrowd": int(diff)}
        for k, (img, lab, box, diff) in enumerate(zip(gts.images, gts.labels, xywh, gts.difficult))
    ]
    coco = COCO()
    coco.dataset = {
        "images": [{"id": int(i)} for i in image_ids],
        "categories": [{"id": c + 1, "name": names[c]} for c in range(num_classes)],
        "annotations": annotations,
    }
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        coco.createIndex()
    return coco


def coco_ap(dets, gts, num_classes, image_ids=None, class_names=None, coco_gt=None):
    if coco_gt is None:
        coco_gt = coco_ground_truth(gts, num_classes, image_ids, class_names)
    if len(dets.scores) == 0:  # loadRes cannot take an empty result list
        return {"AP": 0.0, "AP50": 0.0, "AP75": 0.0, "stats": [0.0] * 12}
    # a list of dicts, not loadRes's [N, 7] array: that one is float64 and would round image
    # ids above 2**53 (RPC's are 13 digits; others are larger) onto other images
    results = [{"image_id": int(i), "category_id": int(c), "bbox": b.tolist(), "score": float(s)}
               for i, c, b, s in zip(dets.images, dets.labels, xywh_boxes(dets.boxes), dets.scores)]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_dt = coco_gt.loadRes(results)
        coco_eval = COCOeval(coco_gt, coco_dt, iouType="bbox")
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    stats = [float(s) for s in coco_eval.stats]
    return {"AP": stats[0], "AP50": stats[1], "AP75": stats[2], "stats": stats}
