"""data.max_image_pixels: an image too large to decode safely is a counted bad image, decided
from its header before any pixel is decoded, with no PIL DecompressionBombWarning."""
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

from data_helpers import voc_object, write_image, write_split, write_voc_entry
from hl_detect.data import BadImageTracker, DatasetError, SkipBadImages, VOCDetection, read_image
from hl_detect.data.image_io import DEFAULT_MAX_IMAGE_PIXELS
from hl_detect.data.splits import build_split
from hl_detect.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def bomb_png(path, width, height):
    """A valid 8-bit grayscale PNG of all zeros, written row by row (the test never holds it
    in memory): 10000 x 10000 is ~100 KB on disk and 100 Mpx decoded."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    packer = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte 0, then the row
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def test_a_100_mpx_png_is_refused_from_its_header_without_a_warning(tmp_path):
    path = bomb_png(tmp_path / "bomb.png", 10_000, 10_000)
    assert path.stat().st_size < 1_000_000 and DEFAULT_MAX_IMAGE_PIXELS < 100_000_000
    with warnings.catch_warnings(record=True) as shown:  # the filters as a run has them
        with pytest.raises(DatasetError, match=r"bomb\.png: 10000x10000 = 100,000,000 pixels, more than "
                                               r"data\.max_image_pixels allows \(40,000,000\); not decoded"):
            read_image(path)
    assert [w.message for w in shown] == []  # no DecompressionBombWarning beside the counted error


def test_the_cap_is_a_setting(tmp_path):
    path = write_image(tmp_path / "a.png", 50, 40)  # 2000 px
    assert read_image(path, max_pixels=2000).shape == (40, 50, 3)  # at the cap: fine
    assert read_image(path, max_pixels=None).shape == (40, 50, 3)  # no cap
    with pytest.raises(DatasetError, match=r"50x40 = 2,000 pixels, .* \(1,999\)"):
        read_image(path, max_pixels=1999)


def voc_two_sizes(root):
    write_voc_entry(root, "small", 50, 40, [voc_object("dog", 1, 1, 5, 5)])   # 2000 px
    write_voc_entry(root, "large", 60, 50, [voc_object("cat", 1, 1, 5, 5)])   # 3000 px
    write_split(root, "s", ["small", "large"])


def test_loader_skips_and_counts_an_image_over_the_cap(tmp_path):
    voc_two_sizes(tmp_path)
    ds = VOCDetection(tmp_path, "s", train=False, max_image_pixels=2500)
    assert [r.path.name for r in ds.records] == ["small.jpg"]
    (bad,) = ds.skipped.bad_images()  # counted as unusable, against max_bad_images
    assert bad.file.endswith("large.jpg") and bad.kind == "image over the pixel cap" and "3000" not in bad.file
    tracker = BadImageTracker("test", ds, max_bad_images=1, say=lambda line: None)
    assert tracker.counts()["bad_images"] == 1
    assert len(VOCDetection(tmp_path, "s", train=False, max_image_pixels=None)) == 2


def test_decoding_checks_the_cap_again(tmp_path):
    # a file replaced after loading (or a dataset loaded without header checks) is caught at decode
    voc_two_sizes(tmp_path)
    ds = VOCDetection(tmp_path, "s", train=False, max_image_pixels=None)
    ds.max_image_pixels = 2500
    image, target = SkipBadImages(ds, refill=False)[1]
    assert image is None
    ((file, problem),) = target["bad_images"]
    assert file.endswith("large.jpg") and "max_image_pixels" in problem
    assert ds[0][0].shape == (3, 40, 50)


def test_config_key_reaches_the_loader(tmp_path):
    voc_two_sizes(tmp_path)
    data = {"kind": "voc", "root": str(tmp_path), "options": {}, "test": {"split": "s"}}
    assert len(build_split({"data": {**data, "max_image_pixels": 2500}}, "test", train=False)) == 1
    assert len(build_split({"data": {**data, "max_image_pixels": None}}, "test", train=False)) == 2
    assert build_split({"data": data}, "test", train=False).max_image_pixels == DEFAULT_MAX_IMAGE_PIXELS
    with pytest.raises(ConfigError, match="max_image_pixels"):
        build_split({"data": {**data, "max_image_pixels": "40M"}}, "test", train=False)


def test_base_config_documents_the_default():
    from hl_detect.run.config import load_config
    cfg = load_config([REPO / "configs" / "base.yaml"])
    assert cfg["data"]["max_image_pixels"] == DEFAULT_MAX_IMAGE_PIXELS
    assert "max_image_pixels" in (REPO / "datasets" / "README.md").read_text()
    assert np.prod((6000, 4000)) < DEFAULT_MAX_IMAGE_PIXELS  # a 24 Mpx camera photo still loads
