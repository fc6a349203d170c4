"""Tiny detectors and batches for the core tests (CPU, min_size 64-128, few RoIs)."""
import torch

# small RoI budgets keep a ResNet-50 step on CPU around a second
SMALL = dict(
    min_size=64,
    max_size=96,
    rpn_pre_nms_top_n_train=64,
    rpn_post_nms_top_n_train=32,
    rpn_pre_nms_top_n_test=64,
    rpn_post_nms_top_n_test=32,
    rpn_batch_size_per_image=32,
    box_batch_size_per_image=16,
    box_detections_per_img=20,
)


def make_batch(seed=0, size=96, with_empty=True, num_classes=4, masks=False, keypoints=False):
    g = torch.Generator().manual_seed(seed)
    images = [torch.rand(3, size, size, generator=g) for _ in range(2)]
    boxes = torch.tensor([[8.0, 10.0, 50.0, 60.0], [30.0, 20.0, 90.0, 80.0], [5.0, 50.0, 40.0, 92.0]])
    labels = torch.randint(1, num_classes + 1, (3,), generator=g)
    first = {"boxes": boxes, "labels": labels}
    empty = {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}
    second = empty if with_empty else {"boxes": boxes[:2] + 2, "labels": labels[:2]}
    targets = [first, second]
    if masks:
        for t in targets:
            m = torch.zeros(len(t["boxes"]), size, size, dtype=torch.uint8)
            for i, b in enumerate(t["boxes"].long()):
                m[i, b[1] : b[3], b[0] : b[2]] = 1
            t["masks"] = m
    if keypoints:
        for t in targets:
            b = t["boxes"]
            centre = torch.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, torch.ones(len(b))], 1)
            t["keypoints"] = centre[:, None, :].repeat(1, 17, 1)
    return images, targets

