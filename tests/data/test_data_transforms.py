import numpy as np
import pytest
import torch

from hl_detect.data import build_eval_transforms, build_train_transforms, build_dataset
from hl_detect.data.transforms import resized_shape

COLOURS = {1: (255, 0, 0), 2: (0, 255, 0), 3: (0, 0, 255), 4: (255, 255, 0)}


def painted_scene():
    """Four non-overlapping solid rectangles; the colour of each says its label."""
    img = np.full((120, 160, 3), 128, np.uint8)
    boxes = np.array([[5, 5, 45, 50], [60, 10, 100, 40], [110, 60, 155, 115], [10, 70, 70, 110]],
                     np.float32)
    labels = np.array([1, 2, 3, 4])
    for (x0, y0, x1, y1), l in zip(boxes.astype(int), labels):
        img[y0:y1, x0:x1] = COLOURS[l]
    return img, boxes, labels, np.array([False, True, False, True])


def test_resized_shape_rules():
    assert resized_shape(375, 500, image_size=600) == (600, 600)
    assert resized_shape(375, 500, image_size=(300, 400)) == (300, 400)
    assert resized_shape(375, 500, min_size=600, max_size=1000) == (600, 800)
    assert resized_shape(100, 1000, min_size=600, max_size=1000) == (100, 1000)
    assert resized_shape(375, 500) == (375, 500)


def test_eval_only_resizes_and_keeps_every_object():
    img, boxes, labels, diff = painted_scene()
    boxes = np.vstack([boxes, [[150, 0, 150.5, 0.5]]]).astype(np.float32)  # a tiny object too
    labels, diff = np.append(labels, 1), np.append(diff, False)
    out = build_eval_transforms(image_size=(60, 320))(image=img, boxes=boxes, labels=labels, difficult=diff)
    assert out["image"].shape == (60, 320, 3)
    np.testing.assert_allclose(out["boxes"], boxes * np.array([2, 0.5, 2, 0.5]), rtol=1e-6)
    assert out["index"].tolist() == list(range(5))
    assert out["labels"].tolist() == labels.tolist() and out["difficult"].tolist() == diff.tolist()


def test_forced_flip_by_hand():
    img, boxes, labels, diff = painted_scene()
    t = build_train_transforms(hflip=1.0, scale_jitter=None, color_p=0.0)
    out = t(image=img, boxes=boxes, labels=labels, difficult=diff)
    expect = np.stack([160 - boxes[:, 2], boxes[:, 1], 160 - boxes[:, 0], boxes[:, 3]], 1)
    order = np.argsort(out["index"])
    np.testing.assert_allclose(out["boxes"][order], expect, atol=1e-4)
    np.testing.assert_array_equal(out["image"], img[:, ::-1])


@pytest.mark.parametrize("seed", range(12))
def test_random_train_pipeline_keeps_boxes_inside_and_aligned(seed):
    img, boxes, labels, diff = painted_scene()
    t = build_train_transforms(image_size=96, scale_jitter=(0.6, 1.6), scale_p=1.0, color_p=0.0,
                               seed=seed)
    out = t(image=img, boxes=boxes, labels=labels, difficult=diff)
    h, w = out["image"].shape[:2]
    assert (h, w) == (96, 96)
    b = out["boxes"]
    assert (b >= 0).all() and (b[:, 2] <= w).all() and (b[:, 3] <= h).all()
    assert (b[:, 2] > b[:, 0]).all() and (b[:, 3] > b[:, 1]).all()
    for box, l, d, k in zip(b, out["labels"], out["difficult"], out["index"]):
        assert labels[k] == l and diff[k] == d
        cx, cy = int((box[0] + box[2]) / 2), int((box[1] + box[3]) / 2)
        np.testing.assert_allclose(out["image"][cy, cx], COLOURS[int(l)], atol=40)


def test_dataset_contract_with_train_and_eval_pipelines(tiny_dataset):
    for train in (True, False):
        tf = (build_train_transforms if train else build_eval_transforms)(image_size=160)
        ds = build_dataset("synthetic", tiny_dataset.root, "train", train, tf,
                           num_train=8, num_test=4, image_size=128)
        for i in range(len(ds)):
            img, t = ds[i]
            assert img.shape == (3, 160, 160) and img.dtype == torch.float32
            assert t["size"].tolist() == [160, 160]
            n = len(t["labels"])
            assert t["boxes"].shape == (n, 4) and t["orig_boxes"].shape == (n, 4)
            assert t["difficult"].shape == (n,) and t["boxes"].dtype == torch.float32
            if not train:
                h0, w0 = t["orig_size"].tolist()
                scale = torch.tensor([160 / w0, 160 / h0] * 2)
                torch.testing.assert_close(t["boxes"], t["orig_boxes"] * scale)
