"""The cut-out (cutout.py) against exemplars whose product mask is known: the embedded
exemplar set, read back from its JPEG files, and the renderer's own mask."""
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from hl_detect.data import build_dataset, product_catalog, read_image
from hl_detect.data.cutout import cutout_mask, product_mask
from hl_detect.data.synthetic_exemplars import ensure_exemplar_dataset, render_exemplar

SMALL = dict(num_classes=8, views_per_class=2, num_val=1, num_test=1, num_train_trays=1, image_size=128)


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


@pytest.mark.parametrize("method", ["background", "grabcut"])
def test_cut_out_matches_the_rendered_mask(tmp_path, method):
    paths = ensure_exemplar_dataset(tmp_path / "e", seed=2, **SMALL)
    ds = build_dataset("rpc", paths.root, "train", train=True)
    specs = product_catalog(8)
    scores = []
    for i, r in enumerate(ds.records):
        _, _, truth = render_exemplar(np.random.default_rng([2, 10, i]), specs[i % 8], 128)
        scores.append(iou(cutout_mask(read_image(r.path), r.boxes[0], method=method), truth))
    assert min(scores) >= 0.9, scores


def test_a_coco_segmentation_wins_over_the_cut_out():
    image, box, truth = render_exemplar(np.random.default_rng(0), product_catalog(2)[0], 96)
    image = np.asarray(image)
    x0, y0, x1, y1 = box
    rectangle = [[x0, y0, x1, y0, x1, y1, x0, y1]]  # a polygon: the box, not the product's shape
    got = product_mask(image, box, rectangle)
    expected = np.zeros_like(truth)
    expected[y0:y1, x0:x1] = True
    assert iou(got, expected) > 0.95 and got.sum() > truth.sum()
    rle = mask_utils.encode(np.asfortranarray(truth.astype(np.uint8)))  # compressed RLE: decoded exactly
    np.testing.assert_array_equal(product_mask(image, box, rle), truth)
    assert iou(product_mask(image, box, None), truth) >= 0.9  # no segmentation: the cut-out


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="grabcut"):
        cutout_mask(np.zeros((8, 8, 3), np.uint8), method="magic")


def test_a_segmentation_in_the_annotation_file_reaches_the_pasted_sprite(tmp_path):
    """The whole path a user's masks take: COCO file -> loader -> exemplar pool -> sprite. The
    file's mask here is each product's box (a rectangle), which the cut-out would never give,
    so a sprite that is one opaque rectangle can only have come from the file."""
    import json

    from hl_detect.data.exemplar_pool import ExemplarPool, entries_of

    paths = ensure_exemplar_dataset(tmp_path / "e", seed=2, **SMALL)
    data = json.loads(paths.ann_file("train").read_text())
    marked = set()
    for ann in data["annotations"][::2]:  # every other product has a mask in the file
        x, y, w, h = ann["bbox"]
        ann["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
        marked.add(ann["image_id"])
    ann_file = tmp_path / "with_masks.json"
    ann_file.write_text(json.dumps(data))
    ds = build_dataset("coco", tmp_path, "train", train=True, ann_file=ann_file, img_dir=paths.img_dir("train"))
    entries = entries_of(ds)
    pool = ExemplarPool(entries)
    assert len(entries) == len(data["annotations"]) and marked
    for k, (entry, record) in enumerate(zip(entries, ds.records)):
        alpha = pool.sprite(k).rgba[..., 3]
        if record.image_id in marked:
            assert entry.segmentation is not None and (alpha == 255).all()  # the file's rectangle, whole
        else:
            assert entry.segmentation is None and (alpha == 0).mean() > 0.05  # the cut-out's product shape
