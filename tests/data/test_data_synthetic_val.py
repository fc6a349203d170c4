"""The embedded set's val split: deterministic, disjoint from train and test, and adding it
leaves every train/test file (and manifest.json) byte-identical."""
import json

import numpy as np
import pytest

from hl_detect.data import DatasetError, build_dataset, ensure_synthetic_dataset
from hl_detect.data.synthetic import generate_synthetic_dataset

SMALL = dict(num_classes=20, num_train=6, num_test=4, image_size=96, seed=1)


def all_bytes(root):
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_adding_val_keeps_train_and_test_bytes(tmp_path):
    root = tmp_path / "s"
    ensure_synthetic_dataset(root, **SMALL)
    before = all_bytes(root)
    ensure_synthetic_dataset(root, **SMALL, num_val=3)
    after = all_bytes(root)
    assert {k: after[k] for k in before} == before  # nothing of train/test rewritten
    added = sorted(set(after) - set(before))
    assert added == ["Annotations/000011.xml", "Annotations/000012.xml", "Annotations/000013.xml",
                     "ImageSets/Main/val.txt", "JPEGImages/000011.jpg", "JPEGImages/000012.jpg",
                     "JPEGImages/000013.jpg", "annotations/instances_val.json", "manifest_val.json"]
    assert json.loads(after["manifest_val.json"])["num_val"] == 3
    assert not list(tmp_path.glob(".*tmp*"))
    # the same set generated with val in one go is the same bytes
    generate_synthetic_dataset(tmp_path / "fresh", **{**SMALL, "num_val": 3})
    fresh = all_bytes(tmp_path / "fresh")
    assert {k: v for k, v in after.items() if k in fresh} == fresh


def test_val_is_disjoint_from_train_and_test(tmp_path):
    kw = dict(SMALL, layout="coco")
    sets = {s: build_dataset("synthetic", tmp_path / "s", s, train=False, num_val=5, **kw)
            for s in ("train", "test", "val")}
    ids = {s: {r.image_id for r in ds.records} for s, ds in sets.items()}
    paths = {s: {r.path for r in ds.records} for s, ds in sets.items()}
    assert ids["val"] == {11, 12, 13, 14, 15}
    for other in ("train", "test"):
        assert not ids["val"] & ids[other] and not paths["val"] & paths[other]
    # different scenes, not just different names: no val image equals a train/test image
    pixels = {s: [bytes(np.asarray(ds[i][0]).tobytes()) for i in range(len(ds))] for s, ds in sets.items()}
    assert not set(pixels["val"]) & (set(pixels["train"]) | set(pixels["test"]))


def test_val_is_deterministic_and_reused(tmp_path):
    a = ensure_synthetic_dataset(tmp_path / "a", **SMALL, num_val=2)
    b = ensure_synthetic_dataset(tmp_path / "b", **SMALL, num_val=2)
    assert all_bytes(a.root) == all_bytes(b.root)
    stamp = (a.root / "JPEGImages" / "000011.jpg").stat().st_mtime_ns
    ensure_synthetic_dataset(a.root, **SMALL, num_val=2)  # same parameters: not rewritten
    assert (a.root / "JPEGImages" / "000011.jpg").stat().st_mtime_ns == stamp
    # a longer val split starts with the same scenes (scene i depends on i only)
    ensure_synthetic_dataset(a.root, **SMALL, num_val=3)
    assert (a.root / "JPEGImages" / "000011.jpg").read_bytes() == all_bytes(b.root)["JPEGImages/000011.jpg"]
    assert len((a.root / "ImageSets/Main/val.txt").read_text().split()) == 3


def test_train_and_test_runs_do_not_generate_val(tmp_path):
    build_dataset("synthetic", tmp_path / "s", "test", train=False, **SMALL)
    assert not (tmp_path / "s" / "manifest_val.json").exists()


def test_unknown_split_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="one of"):
        build_dataset("synthetic", tmp_path / "s", "validation", train=False, **SMALL)
