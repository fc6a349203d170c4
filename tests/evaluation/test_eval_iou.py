"""IoU against hand values, the devkit +1 switch and the Detectron2 devkit frame."""
import numpy as np
import pytest
import torch
import torchvision

from hl_detect.evaluation import box_iou, to_devkit_frame


def test_plain_iou_equals_torchvision():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 50, (12, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(1, 30, (12, 2))], axis=1)
    a, b = boxes[:7], boxes[7:]
    ref = torchvision.ops.box_iou(torch.tensor(a), torch.tensor(b)).numpy()
    np.testing.assert_allclose(box_iou(a, b), ref, rtol=1e-12, atol=1e-15)


def test_plus_one_hand_values_and_devkit_frame_cancels():
    a, b = [[0, 0, 9, 9]], [[0, 0, 9, 4]]
    assert box_iou(a, b)[0, 0] == pytest.approx(36 / 81)
    assert box_iou(a, b, plus_one=True)[0, 0] == pytest.approx(50 / 100)
    # VOC XML (1, 1, 10, 10) -> our loader (0, 0, 10, 10) -> devkit frame gives the XML back
    assert to_devkit_frame([[0, 0, 10, 10]]).tolist() == [[1, 1, 10, 10]]
    c, d = np.array([[0.0, 0, 10, 10]]), np.array([[2.0, 3, 12, 9]])
    assert box_iou(to_devkit_frame(c), to_devkit_frame(d), plus_one=True)[0, 0] == \
        pytest.approx(box_iou(c, d)[0, 0])
    assert box_iou(np.zeros((0, 4)), d).shape == (0, 1)
