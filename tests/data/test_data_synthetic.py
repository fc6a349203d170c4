import json
import time

import numpy as np
import pytest

from hl_detect.data import (COCODetection, DatasetError, VOCDetection, build_dataset,
                            ensure_synthetic_dataset, product_catalog)

SMALL = dict(num_classes=20, num_train=8, num_test=4, image_size=128)


def all_bytes(root):
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_small_set_is_fast_and_deterministic(tmp_path):
    t0 = time.perf_counter()
    a = ensure_synthetic_dataset(tmp_path / "a", seed=3, **SMALL)
    assert time.perf_counter() - t0 < 2.0
    b = ensure_synthetic_dataset(tmp_path / "b", seed=3, **SMALL)
    c = ensure_synthetic_dataset(tmp_path / "c", seed=4, **SMALL)
    ba, bb, bc = all_bytes(a.root), all_bytes(b.root), all_bytes(c.root)
    assert ba == bb  # same seed: byte-identical images, XML and JSON
    assert ba.keys() == bc.keys()
    assert ba["annotations/instances_train.json"] != bc["annotations/instances_train.json"]
    assert ba["JPEGImages/000001.jpg"] != bc["JPEGImages/000001.jpg"]


def test_voc_and_coco_views_agree(tiny_dataset):
    for split, n in (("train", 8), ("test", 4)):
        voc = VOCDetection(tiny_dataset.root, split, train=False, classes=tiny_dataset.classes)
        coco = COCODetection(tiny_dataset.ann_file(split), tiny_dataset.root, train=False)
        assert len(voc) == len(coco) == n and voc.classes == coco.classes
        assert not voc.skipped.entries and not coco.skipped.entries
        for rv, rc in zip(voc.records, coco.records):
            assert rv.image_id == rc.image_id and rv.path == rc.path
            np.testing.assert_array_equal(rv.boxes, rc.boxes)
            np.testing.assert_array_equal(rv.labels, rc.labels)
    assert [r.image_id for r in coco.records] == [9, 10, 11, 12]  # test ids follow train ids


def test_scenes_have_several_objects_inside_the_image(tiny_dataset):
    ds = build_dataset("synthetic", tiny_dataset.root, "train", train=False, **SMALL)
    counts = [len(r.labels) for r in ds.records]
    assert min(counts) >= 2 and max(counts) <= 8 and np.mean(counts) >= 3
    for r in ds.records:
        assert (r.boxes[:, 2:] > r.boxes[:, :2]).all()
        assert (r.boxes >= 0).all() and (r.boxes[:, 2] <= r.width).all() and (r.boxes[:, 3] <= r.height).all()
        assert not r.difficult.any()
    img, t = ds[0]
    assert img.shape[0] == 3 and t["labels"].min() >= 1 and t["labels"].max() <= 20


def test_manifest_reuse_and_regenerate(tmp_path):
    root = tmp_path / "s"
    ensure_synthetic_dataset(root, **SMALL)
    stamp = (root / "JPEGImages" / "000001.jpg").stat().st_mtime_ns
    ensure_synthetic_dataset(root, **SMALL)  # same params: reused untouched
    assert (root / "JPEGImages" / "000001.jpg").stat().st_mtime_ns == stamp
    ensure_synthetic_dataset(root, **{**SMALL, "num_train": 5})  # changed param: regenerated
    assert json.loads((root / "manifest.json").read_text())["num_train"] == 5
    assert len((root / "ImageSets/Main/train.txt").read_text().split()) == 5
    assert not (root / "JPEGImages" / "000012.jpg").exists()
    assert not list(tmp_path.glob(".s.tmp*"))


def test_refuses_to_overwrite_foreign_folder(tmp_path):
    (tmp_path / "mine.txt").write_text("user data")
    with pytest.raises(DatasetError, match="refusing"):
        ensure_synthetic_dataset(tmp_path, **SMALL)


@pytest.mark.parametrize("num_classes", [20, 113])
def test_catalog_siblings_differ_in_one_small_detail(num_classes):
    specs = product_catalog(num_classes)
    assert len({s.name for s in specs}) == num_classes
    assert {s.shape for s in specs} == {"box", "can", "bottle", "pouch"}
    for a, b in zip(specs[0::2], specs[1::2]):
        assert (a.shape, a.colour, a.pattern) == (b.shape, b.colour, b.pattern) and a.badge != b.badge
    assert product_catalog(20) == specs[:20]  # the 20 classes are a prefix of every catalog


def test_113_class_variant_through_factory(tmp_path):
    ds = build_dataset("synthetic", tmp_path / "s113", "test", train=False, layout="coco",
                       num_classes=113, num_train=2, num_test=3, image_size=96)
    assert ds.num_classes == 113 and len(ds) == 3
    assert all(1 <= int(l) <= 113 for r in ds.records for l in r.labels)
