"""The generator replaces a folder only when it wrote it: --data-root may name a user's data.

Every refusal leaves the folder byte-for-byte as it was; our own set with other settings is
still regenerated, and a manifest written before the "generator" marker is still ours.
tools/train_det.py --data-root on such a folder: tests/tools/test_tools_errors.py."""
import json

import pytest

from hl_detect.data import DatasetError, ensure_synthetic_dataset
from hl_detect.data.synthetic import GENERATOR

SMALL = dict(num_classes=20, num_train=3, num_test=2, image_size=64)


def snapshot(root):
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def users_folder(root, manifest_text):
    (root / "photos").mkdir(parents=True)
    (root / "photos" / "holiday.jpg").write_bytes(b"not a synthetic scene")
    if manifest_text is not None:
        (root / "manifest.json").write_text(manifest_text)
    return snapshot(root)


@pytest.mark.parametrize("manifest,why", [
    ('{"name": "mine"}', "did not write"),                  # someone else's manifest.json
    ("{not json", "not a JSON object"),                     # unparsable
    ('["a", "list"]', "not a JSON object"),
    (None, "no manifest.json"),                              # other files only
])
def test_a_folder_we_did_not_write_is_refused_and_left_untouched(tmp_path, manifest, why):
    root = tmp_path / "D"
    before = users_folder(root, manifest)
    with pytest.raises(DatasetError, match=why) as caught:
        ensure_synthetic_dataset(root, **SMALL)
    assert str(root) in str(caught.value) and "refusing" in str(caught.value)
    assert "new or empty folder" in caught.value.hint
    assert snapshot(root) == before
    assert not list(tmp_path.glob(".D.tmp*"))  # nothing half-generated left beside it


def test_our_manifest_copied_beside_other_files_is_refused(tmp_path):
    # a copied manifest.json does not make the user's photos ours to delete
    ours = ensure_synthetic_dataset(tmp_path / "ours", **SMALL)
    before = users_folder(tmp_path / "D", (ours.root / "manifest.json").read_text())
    with pytest.raises(DatasetError, match="files the generator does not write: photos"):
        ensure_synthetic_dataset(tmp_path / "D", **{**SMALL, "num_train": 4})
    assert snapshot(tmp_path / "D") == before


def test_a_file_as_root_is_refused(tmp_path):
    (tmp_path / "D").write_text("mine")
    with pytest.raises(DatasetError, match="is a file"):
        ensure_synthetic_dataset(tmp_path / "D", **SMALL)
    assert (tmp_path / "D").read_text() == "mine"


def test_our_own_set_is_marked_and_regenerated_with_new_settings(tmp_path):
    root = tmp_path / "s"
    ensure_synthetic_dataset(root, **SMALL)
    assert json.loads((root / "manifest.json").read_text())["generator"] == GENERATOR
    ensure_synthetic_dataset(root, **{**SMALL, "num_train": 4}, num_val=1)
    assert len((root / "ImageSets/Main/train.txt").read_text().split()) == 4
    assert (root / "manifest_val.json").is_file()


def test_a_manifest_from_before_the_marker_is_reused_not_rebuilt(tmp_path):
    root = tmp_path / "s"
    ensure_synthetic_dataset(root, **SMALL)
    legacy = json.loads((root / "manifest.json").read_text())
    del legacy["generator"]  # exactly what the generator wrote before it had the marker
    (root / "manifest.json").write_text(json.dumps(legacy, indent=1) + "\n")
    stamp = (root / "JPEGImages" / "000001.jpg").stat().st_mtime_ns
    ensure_synthetic_dataset(root, **SMALL)
    assert (root / "JPEGImages" / "000001.jpg").stat().st_mtime_ns == stamp
    ensure_synthetic_dataset(root, **{**SMALL, "num_train": 4})  # still ours to replace
    assert len((root / "ImageSets/Main/train.txt").read_text().split()) == 4
