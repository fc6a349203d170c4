"""Datasets: Pascal VOC, COCO-format (RPC), the embedded synthetic retail set; transforms,
collate and aspect-ratio batching. Every dataset returns (image [3, H, W] float in [0, 1],
target dict) as described in hl_detect/data/base.py."""
from .bad_images import BadImageTracker, SkipBadImages
from .base import DetectionDataset, ImageRecord
from .categories import make_categories
from .checks import DatasetError, Problem, ProblemLog
from .coco import RPC_SPLITS, COCODetection, rpc_paths
from .collate import collate_fn
from .factory import KINDS, build_dataset
from .image_io import read_image, read_image_size
from .report import DatasetReport, check_dataset, format_report
from .sampler import GroupedBatchSampler, compute_aspect_ratios, create_aspect_ratio_groups
from .splits import build_datasets, build_eval_dataset, build_split, split_config
from .synthetic import SyntheticPaths, default_synthetic_root, ensure_synthetic_dataset
from .synthetic_products import product_catalog
from .transforms import build_eval_transforms, build_train_transforms
from .voc import VOC_CLASSES, VOC_SPLITS, VOCDetection, voc_box_to_xyxy

__all__ = [
    "BadImageTracker", "SkipBadImages", "make_categories", "build_datasets", "build_eval_dataset",
    "build_split", "split_config",
    "DetectionDataset", "ImageRecord", "DatasetError", "Problem", "ProblemLog",
    "RPC_SPLITS", "COCODetection", "rpc_paths", "collate_fn", "KINDS", "build_dataset",
    "read_image", "read_image_size", "DatasetReport", "check_dataset", "format_report",
    "GroupedBatchSampler", "compute_aspect_ratios", "create_aspect_ratio_groups",
    "SyntheticPaths", "default_synthetic_root", "ensure_synthetic_dataset", "product_catalog",
    "build_eval_transforms", "build_train_transforms",
    "VOC_CLASSES", "VOC_SPLITS", "VOCDetection", "voc_box_to_xyxy",
]
