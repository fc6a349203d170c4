"""HML: per-RoI cross-entropy reweighted as alpha * beta L * sigmoid(A (beta L - B)), in Faster R-CNN too."""
import math

import torch
import torch.nn.functional as F
from torch.testing import assert_close

from hl_detect.losses import ComposedLoss, HardMiningLoss, build_classification_loss, hard_mining
from loss_references import detection_batch, small_problem, tiny_detector


def slow_hml(logits, labels, alpha=1.5, beta=1.1, a=35.0, b=0.75):
    """Plain-Python log-softmax and sigmoid, one RoI at a time."""
    total = 0.0
    for row, y in zip(logits.tolist(), labels.tolist()):
        top = max(row)
        ce = -(row[y] - top - math.log(sum(math.exp(v - top) for v in row)))
        x = beta * ce
        total += alpha * x / (1.0 + math.exp(-a * (x - b)))
    return total / len(labels)


def test_hml_matches_a_slow_loop():
    g = torch.Generator().manual_seed(3)
    logits = 3.0 * torch.randn(40, 5, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 5, (40,), generator=g)
    loss = HardMiningLoss(num_classes=4, feature_dim=8)
    assert abs(loss.classifier_loss(logits, labels).item() - slow_hml(logits, labels)) < 1e-6
    loss = HardMiningLoss(4, 8, alpha=2.0, beta=0.5, a=10.0, b=0.3)
    assert abs(loss.classifier_loss(logits, labels).item() - slow_hml(logits, labels, 2.0, 0.5, 10.0, 0.3)) < 1e-6


def test_hml_lowers_easy_and_raises_hard_examples():
    base = torch.tensor([0.01, 0.2, 0.5, 1.0, 3.0, 8.0])
    hm = hard_mining(base)
    assert (hm[:3] < base[:3]).all()  # easy: target probability above ~0.5
    assert (hm[3:] > base[3:]).all()  # hard: up to alpha * beta = 1.65 times the loss
    assert_close(hm[-1] / base[-1], torch.tensor(1.65), atol=1e-6, rtol=0)


def test_hml_gradient_matches_autograd_of_the_formula():
    features, weight, labels = small_problem()
    logits1 = (features @ weight.t()).requires_grad_()
    logits2 = logits1.detach().clone().requires_grad_()
    HardMiningLoss(3, 4).classifier_loss(logits1, labels).backward()
    ce = F.cross_entropy(logits2, labels, reduction="none")
    (1.5 * 1.1 * ce * torch.sigmoid(35.0 * (1.1 * ce - 0.75))).mean().backward()
    assert_close(logits1.grad, logits2.grad)


def test_hml_replaces_loss_classifier_in_faster_rcnn():
    model = tiny_detector("hml")
    heads = model.roi_heads
    captured = {}
    def grab(module, inputs, output):
        captured["logits"] = output[0]

    heads.box_predictor.register_forward_hook(grab)
    remember = heads._remember_labels
    heads._remember_labels = lambda labels: (captured.setdefault("labels", torch.cat(labels)), remember(labels))
    model.train()
    images, targets = detection_batch()
    losses = model(images, targets)
    logits, labels = captured["logits"].detach().double(), captured["labels"]
    assert logits.shape[0] == labels.shape[0] > 0
    assert abs(losses["loss_classifier"].item() - slow_hml(logits, labels)) < 1e-5
    assert abs(losses["loss_classifier"].item() - F.cross_entropy(logits, labels).item()) > 1e-4  # not torchvision's CE
    losses["loss_classifier"].backward()
    assert heads.box_predictor.cls_score.weight.grad.abs().sum() > 0


def test_arcface_plus_hml_reweights_the_margin_logits():
    loss = build_classification_loss("arcface+hml", 4, 8, arcface={"scale": 16.0})
    assert isinstance(loss, ComposedLoss) and isinstance(loss.parts["hml"], HardMiningLoss)
    features, weight, labels = small_problem()
    margin_logits = loss.training_logits(16.0 * F.normalize(features, dim=1) @ F.normalize(weight, dim=1).t(), features, labels)
    assert abs(loss.classifier_loss(margin_logits, labels).item() - slow_hml(margin_logits, labels)) < 1e-4  # float32 margins
