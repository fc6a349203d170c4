"""The embedded exemplar set (synthetic_exemplars.py): RPC's layout, one product per
exemplar on a near-uniform background, trays tagged with RPC's level, the folder rules."""
import json

import numpy as np
import pytest

from hl_detect.data import DatasetError, build_dataset, ensure_synthetic_dataset, product_catalog
from hl_detect.data.rpc_level import rpc_level
from hl_detect.data.synthetic_exemplars import ensure_exemplar_dataset, render_exemplar

SMALL = dict(num_classes=6, views_per_class=2, num_val=2, num_test=3, num_train_trays=2, image_size=96)


@pytest.fixture(scope="module")
def exemplars(tmp_path_factory):
    return ensure_exemplar_dataset(tmp_path_factory.mktemp("ex") / "e", seed=5, **SMALL)


def test_exemplars_hold_one_product_each_at_its_rendered_box(exemplars):
    ds = build_dataset("synthetic_exemplars", exemplars.root, "train", train=False, **SMALL, seed=5)
    assert len(ds) == 12 and ds.classes == [s.name for s in product_catalog(6)]
    specs = product_catalog(6)
    for i, r in enumerate(ds.records):
        assert r.labels.tolist() == [i % 6 + 1]  # exemplar i: class i % C, view i // C
        _, box, mask = render_exemplar(np.random.default_rng([5, 10, i]), specs[i % 6], 96)
        ys, xs = np.nonzero(mask)  # the box is the mask's tight box, recomputed here
        assert r.boxes[0].tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] == box


def test_exemplar_background_is_near_uniform_and_views_differ():
    spec = product_catalog(2)[1]
    views = [render_exemplar(np.random.default_rng([0, 10, i]), spec, 128) for i in range(3)]
    for image, _, mask in views:
        pixels = np.asarray(image, np.float32)[~mask]
        assert pixels.std(axis=0).max() < 8  # turntable: one tone, a faint gradient, grain
        assert pixels.mean() > 190
    areas = [int(mask.sum()) for _, _, mask in views]
    boxes = [tuple(box) for _, box, _ in views]
    assert len(set(boxes)) == 3 and max(areas) > 1.05 * min(areas)  # viewpoints: place, scale, rotation


def test_trays_carry_rpc_fields_and_levels(exemplars):
    data = json.loads(exemplars.ann_file("test").read_text())
    assert {c["supercategory"] for c in data["categories"]} <= {"box", "can", "bottle", "pouch"}
    for img in data["images"]:
        anns = [a for a in data["annotations"] if a["image_id"] == img["id"]]
        assert img["level"] == rpc_level(len(anns), len({a["category_id"] for a in anns}))
        assert (exemplars.img_dir("test") / img["file_name"]).is_file()
    ids = [img["id"] for s in ("train", "val", "test", "train_trays")
           for img in json.loads(exemplars.ann_file(s).read_text())["images"]]
    assert len(ids) == len(set(ids)) == 12 + 2 + 3 + 2  # one id space over the splits
    ds = build_dataset("rpc", exemplars.root, "test", train=False)  # RPC's own loader, unchanged
    assert len(ds) == 3 and sum(len(r.labels) for r in ds.records) == len(data["annotations"])


@pytest.mark.parametrize("instances,categories,level", [
    (3, 3, "easy"), (10, 5, "easy"), (10, 6, "medium"), (15, 8, "medium"), (16, 8, "hard"),
    (20, 10, "hard"), (12, 2, "medium"), (4, 1, "easy"), (25, 3, "hard")])
def test_rpc_level_follows_its_documented_ranges(instances, categories, level):
    assert rpc_level(instances, categories) == level


def test_same_seed_same_bytes_and_reuse(tmp_path):
    a = ensure_exemplar_dataset(tmp_path / "a", seed=1, **SMALL)
    b = ensure_exemplar_dataset(tmp_path / "b", seed=1, **SMALL)
    files = sorted(p.relative_to(a.root) for p in a.root.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b.root) for p in b.root.rglob("*") if p.is_file())
    assert all((a.root / f).read_bytes() == (b.root / f).read_bytes() for f in files)
    before = (a.root / "train2019" / "000001.jpg").stat().st_mtime_ns
    ensure_exemplar_dataset(tmp_path / "a", seed=1, **SMALL)  # matching manifest: reused
    assert (a.root / "train2019" / "000001.jpg").stat().st_mtime_ns == before
    ensure_exemplar_dataset(tmp_path / "a", seed=2, **SMALL)  # our own, other settings: replaced
    assert json.loads((a.root / "manifest.json").read_text())["seed"] == 2


def test_folders_it_did_not_write_are_refused_untouched(tmp_path):
    mine = tmp_path / "mine"
    (mine / "train2019").mkdir(parents=True)
    (mine / "train2019" / "photo.jpg").write_bytes(b"a user's photo")
    with pytest.raises(DatasetError, match="no manifest.json"):
        ensure_exemplar_dataset(mine, **SMALL)
    assert (mine / "train2019" / "photo.jpg").read_bytes() == b"a user's photo"
    # the other generator's set is not this generator's to replace either
    other = ensure_synthetic_dataset(tmp_path / "syn", num_classes=6, num_train=2, num_test=1, image_size=64)
    with pytest.raises(DatasetError, match="did not write") as caught:
        ensure_exemplar_dataset(other.root, **SMALL)
    assert "new or empty folder" in caught.value.hint and (other.root / "JPEGImages").is_dir()
