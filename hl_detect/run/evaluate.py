"""A run's evaluation: the evaluator its config asks for, the pass over the test loader,
the ``[eval]`` line, and the prediction pictures written at the end of a run.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch

from .. import distributed as dist_utils
from ..checkout.settings import image_levels
from ..engine import evaluate
from ..evaluation import DetectionEvaluator
from ..evaluation.report import images_note
from ..output_names import relative_names
from ..stats import percent
from ..visualize import draw_detections, save_picture
from .phase_timer import PhaseTimer
from .schema import stored_value
from .tensorboard import log_evaluation, log_prediction_pictures


def build_evaluator(cfg: dict, class_names, **overrides) -> DetectionEvaluator:
    """The evaluator a run config asks for (VOC +1 convention, COCO AP, checkout metrics)."""
    # a checkpoint's config may predate a key: the schema's default then (written once, in schema.py)
    keys = dict(plus_one="data.plus_one", coco="eval_coco", checkout="eval_checkout", checkout_threshold="checkout_threshold",
                checkout_count_rule="checkout_count_rule", checkout_agnostic_iou="checkout_agnostic_iou")
    options = {name: stored_value(cfg, key) for name, key in keys.items()}
    return DetectionEvaluator(len(class_names), class_names, **{**options, **overrides})


def evaluate_run(cfg, model, test_loader, device, class_names, amp, progress, say=print):
    """(evaluation result, (features, labels) of ground-truth RoIs for the projector or None)."""
    evaluator = build_evaluator(cfg, class_names, image_levels=image_levels(test_loader.dataset))  # RPC levels
    collect = cfg["projector_max_points"] if cfg["projector"] else 0  # a run's loaded config: every key is there
    result, embedding = evaluate(model, test_loader, evaluator, device, max_images=cfg["max_eval_images"],
                                 collect_features=collect, progress=progress, amp=amp, say=say,
                                 print_freq=cfg.get("log_every"))  # --print-freq: the training lines' spacing too
    return result, embedding
def summary_line(result: dict) -> str:
    return (f"AP@0.5 (area) {percent(result.get('mAP50_area'), missing='n/a')} | AP@0.5 (VOC07 11-pt) {percent(result.get('mAP50_voc07'), missing='n/a')}"
            f" | box accuracy {percent(result.get('box_accuracy'), missing='n/a')} (coverage {percent(result.get('box_coverage'), 1, 'n/a')}%)"
            + images_note(result, " | "))


class RunEvaluation:
    """The evaluation a run does every ``eval_every`` epochs: the metrics, their TensorBoard
    scalars and HL diagnostics, the prediction pictures, and the ``[eval]`` line (rank 0)."""

    def __init__(self, cfg: dict, test_set, test_loader, device, class_names, amp: bool, progress: bool, writer, say,
                 bad_images: Optional[dict] = None, timer: Optional[PhaseTimer] = None) -> None:
        self.cfg, self.test_set, self.test_loader, self.device = cfg, test_set, test_loader, device
        self.class_names, self.amp, self.progress, self.writer, self.say = class_names, amp, progress, writer, say
        self.bad_images = bad_images or {}  # split -> BadImageTracker, logged with each evaluation
        self.timer = timer or PhaseTimer()  # the run's, so every pass is in its "evaluation" row

    def __call__(self, model, step: int, epoch: Optional[int] = None) -> dict:
        with self.timer.phase("evaluation"):
            result, embedding = evaluate_run(self.cfg, model, self.test_loader, self.device, self.class_names, self.amp,
                                             self.progress, self.say)
            for tracker in self.bad_images.values():  # every rank's files in the logged counts (a collective)
                tracker.sync()
        if epoch is not None and dist_utils.is_main_process():
            with self.timer.phase("tensorboard"):  # scalars, HL diagnostics, the projector's embedding
                log_evaluation(self.writer, result, embedding, model, self.class_names, step, self.cfg)
                for name, tracker in self.bad_images.items():
                    self.writer.add_scalar(f"data/bad_images_{name}", tracker.counts()["bad_images"], step)
            with self.timer.phase("pictures"):
                log_prediction_pictures(self.writer, model, self.test_set, self.device, self.class_names, step,
                                        self.cfg["tensorboard_pictures"])
            self.say(f"[eval] epoch {epoch}: " + summary_line(result))
        return result


def save_prediction_pictures(model, test_set, device, out_dir: Path, class_names, count: int = 6) -> Optional[Path]:
    if count <= 0 or len(test_set) == 0:
        return None
    model.eval()
    folder = out_dir / "predictions"
    records = getattr(test_set, "records", None)  # named by file, as predict.py names them
    names = relative_names([r.path for r in records]) if records else None
    with torch.no_grad():
        for i in range(min(count, len(test_set))):
            image, target = test_set[i]
            if image is None:  # unreadable (test_set is a SkipBadImages view): left out, counted elsewhere
                continue
            prediction = model([image.to(device)])[0]
            picture = draw_detections(image, prediction, class_names, score_threshold=0.5)
            save_picture(picture, folder / f"{names[i] if names else target['image_id']}.png")
    return folder
