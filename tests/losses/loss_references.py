"""Independent references for the loss tests: plain-Python cosines, a tiny detector, one train step."""
import math

import torch
import torchvision

import hl_detect


def cosine_table(features, weight):
    """[[cos(theta_ij)]] by explicit sums, as nested Python lists."""
    rows = []
    for f in features.tolist():
        nf = math.sqrt(sum(x * x for x in f))
        row = []
        for w in weight.tolist():
            nw = math.sqrt(sum(x * x for x in w))
            row.append(sum(a * b for a, b in zip(f, w)) / (nf * nw))
        rows.append(row)
    return rows


def small_problem(seed=0, rows=6, dim=4, classes=4):
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(rows, dim, generator=g, dtype=torch.float64)
    weight = torch.randn(classes, dim, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 3, 1, 0][:rows])
    return features, weight, labels


def tiny_detector(loss_name, **loss_kwargs):
    torch.manual_seed(0)
    model = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, num_classes=5, min_size=64, max_size=96,
        rpn_post_nms_top_n_train=32, box_batch_size_per_image=16, box_score_thresh=0.0,
    )
    return hl_detect.convert_to_hypersphere(model, loss_name, **loss_kwargs)


def detection_batch():
    g = torch.Generator().manual_seed(1)
    images = [torch.rand(3, 96, 96, generator=g) for _ in range(2)]
    targets = [
        {"boxes": torch.tensor([[8.0, 10.0, 50.0, 60.0], [30.0, 20.0, 90.0, 80.0]]), "labels": torch.tensor([1, 3])},
        {"boxes": torch.tensor([[5.0, 50.0, 40.0, 92.0]]), "labels": torch.tensor([4])},
    ]
    return images, targets
