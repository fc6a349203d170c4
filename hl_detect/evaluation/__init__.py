"""Detection evaluation: VOC AP (07 11-point and area), COCO AP, best-box accuracy.

The checkout metrics the evaluator also reports (``checkout=True``) live in hl_detect/checkout/."""
from .box_accuracy import best_boxes, box_accuracy
from .coco_eval import coco_ap, coco_ground_truth
from .evaluator import DetectionEvaluator
from .iou import box_iou, paired_iou, to_devkit_frame
from .matching import match_detections, max_iou_objects, sort_detections
from .records import Detections, GroundTruth, make_detections, make_ground_truth
from .report import aggregate_runs, format_table, save_report, write_csv, write_json
from .voc_ap import (COCO_IOU_THRESHOLDS, VOC07_RECALL_THRESHOLDS, devkit_ap, evaluate_voc,
                     mean_ap, voc_ap)
