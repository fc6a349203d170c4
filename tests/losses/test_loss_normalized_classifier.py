"""NormalizedLinear and the in-place predictor swap against explicit cosines."""
import math

import torch
from torch.testing import assert_close
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor

from hl_detect.losses import NormalizedLinear, adapt_to_normalized
from loss_references import cosine_table, small_problem


def test_scaled_cosine_and_feature_norm_modes():
    features, weight, _ = small_problem()
    cos = torch.tensor(cosine_table(features, weight), dtype=torch.float64)
    layer = NormalizedLinear(4, 4, scale=30.0).double()
    layer.weight.data.copy_(weight)
    assert_close(layer(features), 30.0 * cos)
    layer = NormalizedLinear(4, 4, normalize_features=False).double()
    layer.weight.data.copy_(weight)
    norms = torch.tensor([math.sqrt(sum(x * x for x in f)) for f in features.tolist()], dtype=torch.float64)
    assert_close(layer(features), norms[:, None] * cos)


def test_swap_keeps_torchvision_keys_and_weights():
    predictor = FastRCNNPredictor(8, 5)
    bbox_pred, old_weight = predictor.bbox_pred, predictor.cls_score.weight.detach().clone()
    adapted = adapt_to_normalized(predictor, scale=16.0)
    assert adapted is predictor and adapted.bbox_pred is bbox_pred
    assert set(adapted.state_dict()) == {"cls_score.weight", "bbox_pred.weight", "bbox_pred.bias"}
    assert_close(adapted.cls_score.weight.detach(), old_weight)
    scores, boxes = adapted(torch.randn(3, 8, 1, 1))
    assert scores.shape == (3, 5) and boxes.shape == (3, 20) and scores.abs().max() <= 16.0 + 1e-5
    torch.jit.script(adapted)  # scripts as torchvision's predictor does
