"""The CPU demo model: its MLP head equals torchvision's TwoMLPHead unless told otherwise."""
import torch
from torchvision.models.detection.faster_rcnn import TwoMLPHead

from hl_detect.models.tiny import MLPHead, fasterrcnn_tiny_hl
from tiny_detectors import make_batch


def test_mlp_head_matches_torchvision_and_relu_switch():
    torch.manual_seed(0)
    reference = TwoMLPHead(32 * 49, 16)
    ours, linear = MLPHead(32 * 49, 16), MLPHead(32 * 49, 16, final_relu=False)
    ours.load_state_dict(reference.state_dict())
    linear.load_state_dict(reference.state_dict())
    x = torch.randn(5, 32, 7, 7)
    assert torch.equal(ours(x), reference(x))
    assert (linear(x) < 0).any() and torch.equal(linear(x).clamp(min=0), reference(x))


def test_tiny_model_trains_one_step():
    torch.manual_seed(0)
    model = fasterrcnn_tiny_hl(num_classes=5, width=8, representation_size=32, min_size=96, max_size=96)
    images, targets = make_batch()
    model.train()
    losses = model(images, targets)
    assert set(losses) >= {"loss_classifier", "loss_hypersphere"} and torch.isfinite(sum(losses.values()))
    assert model.roi_heads.cls_loss.feature_dim == 32
