"""``DetectionEvaluator``: collects detections batch by batch, merges ranks, computes every metric.

Per image (``update``): predictions[i] = torchvision detection output {boxes [D, 4] xyxy in the
coordinates of the image fed to the model, scores [D], labels [D] in 1..C}; targets[i] = the
dataset's dict {boxes [N, 4] 0-based continuous xyxy, labels [N], image_id int, difficult [N],
orig_size (H0, W0), size (H, W), optional orig_boxes [N, 4] in original coords}.
Boxes are mapped back to the original image (x * W0/W, y * H0/H; eval transforms only resize).
``compute`` -> a JSON-serializable dict; all metrics are fractions in [0, 1], NaN -> None.
Checkout metrics (``checkout=True``) use ``checkout_count_rule`` (counting.py) at
``checkout_threshold``; ``image_levels`` ({image_id: level}) adds them per RPC level;
``checkout_oracle_sweep`` adds the best threshold chosen on this very split, labelled as an
oracle. Thresholds chosen on validation data: ``checkout_data()`` of a val pass and of a test
pass go to hl_detect.checkout.selection.select_on_val.

``plus_one`` (on for VOC data): our VOC loader stores 0-based continuous boxes (xmin-1, ymin-1,
xmax, ymax). With it on, boxes (GT and detections) go to the devkit frame as Detectron2's
PascalVOCDetectionEvaluator does (x1+1, y1+1, x2, y2: the GT then equals the XML values) and the
devkit +1 IoU is applied; this reproduces the devkit's number on Detectron2-style detection
files. Note that on continuous boxes the +1 cancels the shift, so the IoU equals the plain one
up to rounding; feeding continuous boxes to the +1 formula without the shift would grow every
box by a pixel, which we do not do. COCO AP always uses the continuous boxes with no +1.
"""
import numpy as np
import torch
import torch.distributed as dist

from .box_accuracy import box_accuracy
from ..checkout.metrics import checkout_evaluate
from ..checkout.selection import CheckoutData, oracle_sweep
from ..checkout.counting import DEFAULT_AGNOSTIC_IOU, check_count_rule
from .coco_eval import coco_ap
from .iou import to_devkit_frame
from .records import make_detections, make_ground_truth
from .voc_ap import COCO_IOU_THRESHOLDS, evaluate_voc, mean_ap


def _np(x, dtype):
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def _scale(target):
    """Factors (sx, sy, sx, sy) from the returned image back to the original one."""
    if "orig_size" not in target or "size" not in target:
        return np.ones(4)
    h0, w0 = _np(target["orig_size"], np.float64)
    h, w = _np(target["size"], np.float64)
    return np.array([w0 / w, h0 / h, w0 / w, h0 / h])


def jsonable(x):
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in (x.tolist() if isinstance(x, np.ndarray) else x)]
    if isinstance(x, (float, np.floating)):
        return None if np.isnan(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


def gather_records(records):
    """All ranks' per-image records, deduplicated by image_id (first kept), sorted by image_id.

    DistributedSampler pads with repeated images, hence the dedup; sorting makes "input order"
    (which breaks score ties) the same for any number of ranks: image_id, then model order.
    """
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        parts = [None] * dist.get_world_size()
        dist.all_gather_object(parts, records)
        records = [r for part in parts for r in part]
    unique = {}
    for r in records:
        unique.setdefault(r["image_id"], r)
    return [unique[k] for k in sorted(unique)]


def flatten_records(records):
    """Per-image records -> (Detections, GroundTruth, image_ids) flat arrays (records.py)."""
    ids = np.array([r["image_id"] for r in records], dtype=np.int64)
    n_det = [len(r["scores"]) for r in records]
    n_gt = [len(r["gt_labels"]) for r in records]
    cat = lambda key, shape: (np.concatenate([r[key] for r in records]) if records
                              else np.zeros(shape))
    dets = make_detections(np.repeat(ids, n_det), cat("labels", 0), cat("scores", 0),
                           cat("boxes", (0, 4)))
    gts = make_ground_truth(np.repeat(ids, n_gt), cat("gt_labels", 0), cat("gt_boxes", (0, 4)),
                            cat("gt_difficult", 0).astype(bool))
    return dets, gts, ids


class DetectionEvaluator:
    def __init__(self, num_classes, class_names=None, *, plus_one=False, iou_threshold=0.5,
                 score_threshold=0.0, accuracy_include_difficult=True, coco=False,
                 checkout=False, checkout_threshold=0.5, checkout_oracle_sweep=False,
                 checkout_include_difficult=True, checkout_count_rule="per_class",
                 checkout_agnostic_iou=DEFAULT_AGNOSTIC_IOU, image_levels=None, map_to_original=True):
        self.num_classes = num_classes
        self.class_names = list(class_names) if class_names else [str(c) for c in
                                                                   range(1, num_classes + 1)]
        self.plus_one = plus_one
        self.iou_threshold = iou_threshold
        self.score_threshold = score_threshold  # extra filter for box accuracy only
        self.accuracy_include_difficult = accuracy_include_difficult
        self.coco = coco
        self.checkout = checkout
        self.checkout_threshold = checkout_threshold
        self.checkout_oracle_sweep = checkout_oracle_sweep
        self.checkout_include_difficult = checkout_include_difficult
        self.checkout_count_rule = check_count_rule(checkout_count_rule)
        self.checkout_agnostic_iou = checkout_agnostic_iou
        self.image_levels = dict(image_levels or {})
        self.map_to_original = map_to_original
        self.reset()

    def reset(self):
        self._records = []

    @torch.no_grad()
    def update(self, predictions, targets):
        if len(predictions) != len(targets):
            raise ValueError(f"{len(predictions)} predictions for {len(targets)} targets")
        for pred, tgt in zip(predictions, targets):
            scale = _scale(tgt) if self.map_to_original else np.ones(4)
            if "orig_boxes" in tgt and self.map_to_original:
                gt_boxes = _np(tgt["orig_boxes"], np.float64).reshape(-1, 4)
            else:
                gt_boxes = _np(tgt["boxes"], np.float64).reshape(-1, 4) * scale
            n = len(gt_boxes)
            difficult = tgt.get("difficult", np.zeros(n, dtype=bool))
            self._records.append({
                "image_id": int(tgt["image_id"]),
                "boxes": _np(pred["boxes"], np.float64).reshape(-1, 4) * scale,
                "scores": _np(pred["scores"], np.float64).reshape(-1),
                "labels": _np(pred["labels"], np.int64).reshape(-1),
                "gt_boxes": gt_boxes,
                "gt_labels": _np(tgt["labels"], np.int64).reshape(-1),
                "gt_difficult": _np(difficult, bool).reshape(-1),
            })

    def checkout_data(self) -> CheckoutData:
        """This pass's detections, ground truth and image ids (all ranks), labels checked."""
        dets, gts, image_ids = flatten_records(gather_records(self._records))
        for name, labels in (("predicted", dets.labels), ("target", gts.labels)):
            if len(labels) and (labels.min() < 1 or labels.max() > self.num_classes):
                raise ValueError(f"{name} labels must lie in 1..{self.num_classes}")
        return CheckoutData(dets, gts, image_ids)

    def compute(self):
        """Every rank gets the same full result (the merge is an all-gather)."""
        dets, gts, image_ids = self.checkout_data()
        devkit_dets, devkit_gts = dets, gts
        if self.plus_one:
            devkit_dets = dets._replace(boxes=to_devkit_frame(dets.boxes))
            devkit_gts = gts._replace(boxes=to_devkit_frame(gts.boxes))
        thresholds = np.unique(np.concatenate([[self.iou_threshold], COCO_IOU_THRESHOLDS]))
        voc = evaluate_voc(devkit_dets, devkit_gts, self.num_classes, thresholds, self.plus_one)
        t50 = int(np.flatnonzero(thresholds == self.iou_threshold)[0])
        coco_rows = np.isin(thresholds, COCO_IOU_THRESHOLDS)
        acc = box_accuracy(devkit_dets, devkit_gts, self.num_classes, 0.5,
                           self.accuracy_include_difficult, self.score_threshold, self.plus_one)
        npos = voc["npos"]
        result = {
            "num_images": len(image_ids), "num_detections": len(dets.scores),
            "num_objects": int(npos.sum()), "num_difficult": int(gts.difficult.sum()),
            "mAP50_area": mean_ap(voc["ap_area"][t50], npos),
            "mAP50_voc07": mean_ap(voc["ap_voc07"][t50], npos),
            # COCO-style summary from the devkit matching: area AP averaged over 0.50:0.95
            "mAP_50_95": float(np.mean([mean_ap(r, npos) for r in voc["ap_area"][coco_rows]])),
            "box_accuracy": acc["accuracy"], "box_coverage": acc["coverage"],
            "box_accuracy_counts": {k: acc[k] for k in ("num_objects", "num_counted",
                                                        "num_correct")},
            "per_class": {
                "class": self.class_names,
                "ap50_voc07": voc["ap_voc07"][t50], "ap50_area": voc["ap_area"][t50],
                "accuracy": acc["per_class_accuracy"], "num_objects": npos,
                "num_counted": acc["per_class_counted"],
            },
            "confusion_matrix": acc["confusion"],
            "settings": {"iou_threshold": self.iou_threshold, "plus_one": self.plus_one,
                         "score_threshold": self.score_threshold,
                         "accuracy_include_difficult": self.accuracy_include_difficult},
        }
        if self.coco:
            res = coco_ap(dets, gts, self.num_classes, image_ids, self.class_names)
            result["coco"] = {k: res[k] for k in ("AP", "AP50", "AP75")}
        if self.checkout:
            kw = dict(include_difficult=self.checkout_include_difficult,
                      agnostic_iou=self.checkout_agnostic_iou)
            result["checkout"] = checkout_evaluate(
                dets, gts, self.num_classes, image_ids, self.checkout_threshold,
                count_rule=self.checkout_count_rule, image_levels=self.image_levels, **kw)
            if self.checkout_oracle_sweep:
                result["checkout"]["oracle"] = oracle_sweep(CheckoutData(dets, gts, image_ids),
                                                            self.num_classes, **kw)
        return jsonable(result)
