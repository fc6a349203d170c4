"""What an evaluation writes to TensorBoard: the metrics, HL's feature diagnostics and
projector, and a few test images with their predicted boxes."""
from __future__ import annotations

import numpy as np
import torch

from ..convert import hypersphere_loss_of
from ..engine import center_stats
from ..visualize import draw_detections, draw_ground_truth, to_pil


def log_evaluation(writer, result: dict, embedding, model, class_names, step: int, cfg: dict) -> None:
    if writer is None:
        return
    for key in ("mAP50_area", "mAP50_voc07", "mAP_50_95", "box_accuracy", "box_coverage"):
        if result.get(key) is not None:
            writer.add_scalar(f"eval/{key}", result[key], step)
    for key, value in (result.get("coco") or {}).items():
        writer.add_scalar(f"eval/coco_{key}", value, step)
    for key, value in (result.get("checkout") or {}).items():
        if isinstance(value, (int, float)):
            writer.add_scalar(f"eval/checkout_{key}", value, step)
    if embedding is None:
        return
    features, labels = embedding
    loss = hypersphere_loss_of(model)
    stats = center_stats(features, labels, loss)
    writer.add_histogram("hl/feature_norm", stats["feature_norm"], step)
    for key in ("fraction_inside_dead_zone", "mean_center_angle_deg", "mean_distance_to_center"):
        if key in stats:
            writer.add_scalar(f"hl/{key}", stats[key], step)
    offset = getattr(loss, "label_offset", 1)
    for k, value in stats.get("distance_to_center", {}).items():
        label = k + offset
        name = class_names[label - 1] if label >= 1 else "background"
        writer.add_scalar(f"hl_distance_to_center/{name}", value, step)
    if cfg["projector"]:
        metadata = [class_names[int(y) - 1] for y in labels]
        points = features
        centers = getattr(loss, "centers", None)
        if centers is not None:
            names = (["background"] if offset == 0 else []) + list(class_names)
            points = torch.cat([features, centers.detach().float().cpu()])
            metadata += [f"center:{n}" for n in names]
        writer.add_embedding(points, metadata=metadata, global_step=step, tag="roi_features")


def log_prediction_pictures(writer, model, test_set, device, class_names, step: int, count: int = 4) -> None:
    """The first ``count`` test images in TensorBoard's image tab (``eval/predictions/<image_id>``):
    predicted boxes (score >= 0.5) in class colours over the ground truth in white.

    The same images at every evaluation, so the step slider shows them change; the cost is
    one batched forward of ``count`` images per evaluation."""
    count = min(int(count or 0), len(test_set))
    if writer is None or count <= 0:
        return
    was_training = model.training
    model.eval()
    try:
        samples = [test_set[i] for i in range(count)]
        with torch.no_grad():
            predictions = model([image.to(device) for image, _ in samples])
        for (image, target), prediction in zip(samples, predictions):
            picture = draw_ground_truth(to_pil(image), target["boxes"])
            picture = draw_detections(picture, prediction, class_names, score_threshold=0.5)
            writer.add_image(f"eval/predictions/{int(target['image_id'])}", np.asarray(picture), step, dataformats="HWC")
    finally:
        model.train(was_training)
