"""Deterministic synthetic detection results for benchmarks and tests (no model needed).

Returns per-image lists in the evaluator's interface: predictions[i] = {boxes [D, 4], scores [D],
labels [D]}, targets[i] = {boxes [N, 4], labels [N], image_id, difficult [N], orig_size, size}.
Defaults mimic VOC07 test: 4,952 images, ~3 objects each (~15k), 20 classes, ~20% difficult,
and up to 100 detections per image (jittered copies of objects, some with the wrong class,
plus background boxes), as a detector keeping score >= 0.02 produces.
"""
import numpy as np
import torch


def _random_boxes(rng, n, w, h, min_size=8.0):
    bw = rng.uniform(min_size, w * 0.6, n)
    bh = rng.uniform(min_size, h * 0.6, n)
    x1 = rng.uniform(0, w - bw)
    y1 = rng.uniform(0, h - bh)
    return np.stack([x1, y1, x1 + bw, y1 + bh], axis=1)


def synthetic_results(num_images=4952, num_classes=20, mean_objects=3.0, max_dets=100,
                      difficult_rate=0.2, wrong_class_rate=0.15, seed=0):
    rng = np.random.default_rng(seed)
    predictions, targets = [], []
    for image_id in range(num_images):
        w, h = float(rng.integers(300, 501)), float(rng.integers(300, 501))
        n = 1 + rng.poisson(mean_objects - 1)
        gt = _random_boxes(rng, n, w, h)
        labels = rng.integers(1, num_classes + 1, n)
        copies = 1 + rng.poisson(1.5, n)
        src = np.repeat(np.arange(n), copies)
        size = np.tile(gt[src, 2:] - gt[src, :2], 2)  # jitter relative to (w, h, w, h)
        det = gt[src] + rng.normal(0, 0.08, (len(src), 4)) * size
        det = np.concatenate([np.minimum(det[:, :2], det[:, 2:]),
                              np.maximum(det[:, :2], det[:, 2:])], axis=1)
        det_labels = np.where(rng.random(len(src)) < wrong_class_rate,
                              rng.integers(1, num_classes + 1, len(src)), labels[src])
        det_scores = rng.beta(5, 2, len(src))
        n_bg = max(0, min(max_dets - len(src), int(rng.integers(40, 120))))
        det = np.concatenate([det, _random_boxes(rng, n_bg, w, h)])[:max_dets]
        det_labels = np.concatenate([det_labels, rng.integers(1, num_classes + 1, n_bg)])[:max_dets]
        det_scores = np.concatenate([det_scores, rng.beta(1, 6, n_bg)])[:max_dets]
        order = np.argsort(-det_scores, kind="stable")  # torchvision returns score-sorted boxes
        predictions.append({"boxes": torch.tensor(det[order], dtype=torch.float32),
                            "scores": torch.tensor(det_scores[order], dtype=torch.float32),
                            "labels": torch.tensor(det_labels[order], dtype=torch.int64)})
        targets.append({"boxes": torch.tensor(gt, dtype=torch.float32),
                        "labels": torch.tensor(labels, dtype=torch.int64),
                        "image_id": image_id,
                        "difficult": torch.tensor(rng.random(n) < difficult_rate),
                        "orig_size": torch.tensor([int(h), int(w)]),
                        "size": torch.tensor([int(h), int(w)])})
    return predictions, targets
