"""Detection evaluation: VOC AP (07 11-point and area), COCO AP, best-box accuracy, checkout."""
from .box_accuracy import best_boxes, box_accuracy
from .checkout import checkout_evaluate, checkout_metrics, checkout_sweep, count_matrix
from .checkout_selection import CheckoutData, calibrate_class_thresholds, oracle_sweep, select_on_val
from .counting import COUNT_RULES, DEFAULT_AGNOSTIC_IOU, agnostic_keep, count_mask
from .coco_eval import coco_ap, coco_ground_truth
from .evaluator import DetectionEvaluator
from .iou import box_iou, paired_iou, to_devkit_frame
from .matching import match_detections, max_iou_objects, sort_detections
from .records import Detections, GroundTruth, make_detections, make_ground_truth
from .report import (aggregate_runs, format_aggregate_table, format_table, save_report,
                     write_csv, write_json)
from .voc_ap import (COCO_IOU_THRESHOLDS, VOC07_RECALL_THRESHOLDS, devkit_ap, evaluate_voc,
                     mean_ap, voc_ap)
