"""Exclusive regularization (RegularFace): mean over classes of the largest cosine to another class."""
import torch
from torch.testing import assert_close
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor

from hl_detect.losses import ExclusiveRegularization, exclusive_regularization
from loss_references import cosine_table, small_problem


def test_value_and_gradient():
    _, weight, _ = small_problem()
    cos = cosine_table(weight, weight)
    expected = sum(max(c for j, c in enumerate(row) if j != i) for i, row in enumerate(cos)) / len(cos)
    assert_close(exclusive_regularization(weight).item(), expected)
    torch.autograd.gradcheck(exclusive_regularization, (weight.clone().requires_grad_(),))


def test_reads_the_predictor_weights_without_owning_them():
    predictor = FastRCNNPredictor(4, 4)
    loss = ExclusiveRegularization(num_classes=3, feature_dim=4, weight=0.5, include_background=False).train()
    assert loss.adapt_predictor(predictor) is predictor
    assert dict(loss.state_dict()) == {}
    out = loss.extra_losses(torch.randn(2, 4), torch.tensor([0, 1]))["loss_exclusive"]
    assert_close(out, 0.5 * exclusive_regularization(predictor.cls_score.weight[1:]))
    out.backward()
    assert predictor.cls_score.weight.grad[0].abs().sum() == 0  # background row left out


def test_one_foreground_class_without_background_is_refused_at_conversion():
    """One row has nothing to be pushed away from: said when the model is converted, not at the
    first training step; with the background row there are two, and it trains."""
    import pytest

    refused = ExclusiveRegularization(num_classes=1, feature_dim=4, include_background=False)
    with pytest.raises(ValueError, match="at least two classifier rows.*1 with include_background=False"):
        refused.adapt_predictor(FastRCNNPredictor(4, 2))
    kept = ExclusiveRegularization(num_classes=1, feature_dim=4, include_background=True).train()
    kept.adapt_predictor(FastRCNNPredictor(4, 2))
    assert torch.isfinite(kept.extra_losses(torch.randn(2, 4), torch.tensor([0, 1]))["loss_exclusive"])
