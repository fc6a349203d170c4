"""``hl_authors_code`` against a literal, line-by-line port of the authors' detection loss.

The port below follows faster_rcnn_HL/nets/frcnn_training.py of
github.com/TCCofWANG/Hypersphere_loss (``get_center_momentum``, ``gCL`` and the per-image
loop of ``FasterRCNNTrainer.forward``) statement by statement; only the ``.cuda()`` moves
are left out. Its gradient is plain autograd through the port, so it checks our
hand-written quartic backward independently. ``train.py`` passes a zero ``nCenter`` that
``forward`` only rebinds locally, so every step starts from zero centers.
"""
import pytest
import torch
from torch import nn

from hl_detect.losses import AuthorsCodeHypersphereLoss


# ---- the port (names and statements as in frcnn_training.py) --------------------------------------
def get_center_momentum(C_feat, label, nCenter, sep_weight=0.1, radius=40, beta=0.99):
    class_num = nCenter.shape[0]
    feat_dim = nCenter.shape[1]
    Center = torch.zeros(class_num, feat_dim)
    CenterMean = torch.zeros(class_num, feat_dim)

    with torch.no_grad():
        if torch.all(nCenter == 0):
            for j in range(class_num):
                Center[j] += sum(C_feat[label == j])
        else:
            centers = radius * nCenter
            v = beta * centers[label] + (1 - beta) * C_feat

            CenterMean = (torch.sum(centers, dim=0) - centers) / (class_num - 1)

            for j in range(class_num):
                Center[j] += torch.sum(v[label == j] - sep_weight * CenterMean[j], dim=0)

        nCenter = Center.renorm(2, 0, 1e-5).mul(1e5)

    return nCenter


class gCL(nn.Module):
    def __init__(self, loss_weight=0.002, sep_weight=0.1, radius=40, alpha=40, rho=0.05):
        super(gCL, self).__init__()
        self.radius = radius
        self.loss = nn.MSELoss()
        self.loss_weight = loss_weight
        self.alpha = alpha
        self.rho = rho

    def forward(self, feat, label, center):
        scenter = self.radius * center
        dists = torch.norm(feat - scenter[label], p=2, dim=1, keepdim=False)

        thres = self.alpha * self.rho
        indicate = 1 * dists
        indicate1 = torch.where((indicate > thres), 1, 0) * indicate

        gCLloss = self.loss_weight * (torch.sum((indicate1 * dists) ** 2) / (2 * feat.numel()))

        return gCLloss


def trainer_hl_terms(features, gt_roi_labels, nCenter, loss_weight, rho, n):
    """The HL part of FasterRCNNTrainer.forward's second loop (roi_cls_loss minus its CE), / n."""
    gCL_loss = gCL(loss_weight=loss_weight, rho=rho)
    roi_cls_loss_all = 0
    for i in range(n):
        gt_roi_label = gt_roi_labels[i]
        feature = features[i]
        nCenter = get_center_momentum(feature, gt_roi_label, nCenter)
        useCenter = nCenter
        roi_cls_loss_all += gCL_loss(feature, gt_roi_label, useCenter)
    return roi_cls_loss_all / n, nCenter


# ---- the comparison --------------------------------------------------------------------------------
def batch(step, n=4, rois=24, d=32, classes=5):
    """n images x rois RoIs (the script's features.view(n, -1, d)); image 0 lacks class 5,
    and one RoI of image 0 is alone in its class with norm exactly r, so its distance to its
    own new center is ~0: inside the dead zone."""
    g = torch.Generator().manual_seed(100 + step)
    labels = torch.randint(0, classes, (n, rois), generator=g)
    labels[1:, 0] = classes  # class 5 appears only from image 1 on
    labels[0, 1] = classes - 1
    labels[0, 2:][labels[0, 2:] == classes - 1] = 0
    features = torch.randn(n, rois, d, generator=g) * 4 + 1.5
    features[0, 1] = 40.0 * features[0, 1] / features[0, 1].norm()
    return features, labels


@pytest.mark.parametrize("weight", [0.002, 0.003])
def test_values_and_gradients_equal_the_literal_port_over_steps(weight):
    classes, d = 5, 32
    ours = AuthorsCodeHypersphereLoss(classes, d, weight=weight).train()
    for step in range(3):
        features, labels = batch(step, d=d, classes=classes)
        n, rois = labels.shape
        port_in = features.clone().requires_grad_()
        port, last_center = trainer_hl_terms(port_in, labels, torch.zeros(classes + 1, d), weight, 0.05, n)
        port.backward()

        ours_in = features.reshape(n * rois, d).clone().requires_grad_()
        got = ours.extra_losses(ours_in, labels.reshape(-1), rois_per_image=[rois] * n)["loss_hypersphere"]
        got.backward()

        assert got.item() == pytest.approx(port.item(), rel=1e-5)
        torch.testing.assert_close(ours_in.grad.reshape(n, rois, d), port_in.grad, rtol=1e-4, atol=1e-9)
        torch.testing.assert_close(ours.centers, 40 * last_center, rtol=1e-5, atol=1e-4)
    # the dead-zone RoI (image 0, row 1) got no gradient from either
    assert port_in.grad[0, 1].abs().max() == 0 and ours_in.grad[1].abs().max() == 0


def test_the_penalty_is_quartic_not_square():
    """Doubling every feature's distance to its center multiplies the port and ours by 16."""
    classes, d = 2, 8
    centers = torch.zeros(classes + 1, d)
    centers[:, 0] = 1.0  # unit centers: scenter = 40 e_0
    labels = torch.tensor([0, 1, 2, 1])
    offset = torch.randn(4, d, generator=torch.Generator().manual_seed(0))
    loss = gCL()
    near = loss(40 * centers[labels] + offset, labels, centers)
    far = loss(40 * centers[labels] + 2 * offset, labels, centers)
    assert (far / near).item() == pytest.approx(16.0, rel=1e-5)


def test_defaults_are_the_scripts():
    loss = AuthorsCodeHypersphereLoss(20, 2048)
    assert loss.weight == 0.003  # train.py --loss_weight default
    assert loss.power == 4 and loss.dead_zone == pytest.approx(2.0)  # a = r = 40, rho 0.05
    assert loss.warmup_steps == 0  # Freeze_Epoch = 0: HL from the first step
    assert loss.background_center and loss.normalize_by == "elements"
