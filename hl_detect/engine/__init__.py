"""Training engine: the Trainer (epoch loop, checkpoints, exact resume), one epoch, evaluation,
checkpoints, TensorBoard diagnostics."""
from .checkpoint import load_checkpoint, save_checkpoint
from .embeddings import center_stats, gt_roi_features
from .evaluate import evaluate
from .train_loop import NonFiniteLossError, train_one_epoch
from .trainer import CHECKPOINT, Trainer

__all__ = ["load_checkpoint", "save_checkpoint", "center_stats", "gt_roi_features", "evaluate",
           "NonFiniteLossError", "train_one_epoch", "Trainer", "CHECKPOINT"]
