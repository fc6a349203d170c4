"""Every bad-input case: a clear DatasetError naming the file, or a counted skip."""
import numpy as np
import pytest
from PIL import Image

from data_helpers import voc_object, write_coco, write_image, write_split, write_voc_entry
from hl_detect.data import COCODetection, DatasetError, VOCDetection, read_image


def voc(tmp_path, entries, split_names=None, **kw):
    """entries: name -> list of voc_object strings (or (w, h, objs))."""
    for name, objs in entries.items():
        w, h, objs = objs if isinstance(objs, tuple) else (50, 40, objs)
        write_voc_entry(tmp_path, name, w, h, objs)
    write_split(tmp_path, "s", split_names or list(entries))
    return VOCDetection(tmp_path, "s", **{"train": False, **kw})


def reasons(ds):
    return [(p.file, p.reason, p.action) for p in ds.skipped]


def test_missing_image_is_skipped(tmp_path):
    write_voc_entry(tmp_path, "b", 50, 40, [voc_object("cat", 1, 1, 5, 5)], image=False)
    ds = voc(tmp_path, {"a": [voc_object("dog", 1, 1, 5, 5)]}, split_names=["a", "b"])
    assert len(ds) == 1
    (f, why, action), = reasons(ds)
    assert f.endswith("b.jpg") and "not found" in why and action == "skipped image"


def test_corrupt_and_truncated_images(tmp_path):
    ds = voc(tmp_path, {"a": [voc_object("dog", 1, 1, 5, 5)], "b": [voc_object("cat", 1, 1, 5, 5)]})
    (tmp_path / "JPEGImages" / "a.jpg").write_bytes(b"this is not a jpeg")
    write_image(tmp_path / "JPEGImages" / "b.jpg", 50, 40, fmt="JPEG")
    full = (tmp_path / "JPEGImages" / "b.jpg").read_bytes()
    (tmp_path / "JPEGImages" / "b.jpg").write_bytes(full[: len(full) // 2])
    for i, name in enumerate(("a.jpg", "b.jpg")):
        with pytest.raises(DatasetError, match=name) as e:
            ds[i]
        assert "cannot read image" in str(e.value)
    checked = VOCDetection(tmp_path, "s", train=False, verify_images=True)
    assert len(checked) == 0 and checked.skipped.counts()["skipped image"] == 2


def test_size_mismatch_raises_naming_file(tmp_path):
    ds = voc(tmp_path, {"a": (60, 40, [voc_object("dog", 1, 1, 5, 5)])})
    write_image(tmp_path / "JPEGImages" / "a.jpg", 40, 60)
    with pytest.raises(DatasetError, match=r"a\.jpg.*annotation says 60x40"):
        ds[0]


@pytest.mark.parametrize("mode,value,expect", [
    ("L", 200, 200), ("1", 1, 255), ("P", 7, None), ("RGBA", 90, 90), ("LA", 100, 100),
    ("CMYK", 0, None), ("I;16", 65535, 255), ("I;16", 257 * 10, 10), ("I", 65535, 255),
])
def test_image_modes_become_rgb(tmp_path, mode, value, expect):
    fmt = {"CMYK": "JPEG", "I": "TIFF"}.get(mode, "PNG")  # PNG holds I;16, TIFF holds I
    path = tmp_path / f"x.{fmt.lower()}"
    if mode in ("RGBA", "CMYK"):
        write_image(path, 9, 7, mode=mode, value=value, fmt=fmt)
    elif mode == "LA":
        Image.new("LA", (9, 7), (value, 128)).save(path)
    else:
        Image.new(mode, (9, 7), value).save(path, format=fmt)
    arr = read_image(path)
    assert arr.shape == (7, 9, 3) and arr.dtype == np.uint8
    if expect is not None:
        assert (arr == expect).all(), (mode, arr[0, 0])


@pytest.mark.parametrize("mode,fmt", [("I;16", "PNG"), ("I;16", "TIFF"), ("I;16B", "TIFF")])
def test_16_bit_images_scale_by_their_mode_not_their_content(tmp_path, mode, fmt):
    # a dark 16-bit picture: every value <= 255, which content alone would take for 8-bit
    values = (np.arange(7 * 9).reshape(7, 9) * 4).astype(np.uint16)  # 0 .. 248
    path = tmp_path / f"dark.{fmt.lower()}"
    Image.fromarray(values).convert(mode).save(path, format=fmt)  # fromarray(uint16) is I;16
    assert Image.open(path).mode == mode
    arr = read_image(path)
    expect = np.floor(values / 257.0 + 0.5).astype(np.uint8)  # 65535 -> 255, as a viewer shows it
    assert arr.dtype == np.uint8 and (arr == expect[:, :, None]).all()
    assert arr.max() == 1  # 248 of 65535 is black, not the mid-grey 248 of 255


def test_malformed_xml_is_skipped(tmp_path):
    ds0 = voc(tmp_path, {"a": [voc_object("dog", 1, 1, 5, 5)], "b": [voc_object("cat", 1, 1, 5, 5)]})
    (tmp_path / "Annotations" / "b.xml").write_text("<annotation><object><name>cat</name>")
    ds = VOCDetection(tmp_path, "s", train=False)
    assert len(ds0) == 2 and len(ds) == 1
    (f, why, action), = reasons(ds)
    assert f.endswith("b.xml") and "malformed XML" in why


def test_malformed_json_is_fatal(tmp_path):
    (tmp_path / "bad.json").write_text('{"images": [}')
    with pytest.raises(DatasetError, match=r"bad\.json: malformed JSON"):
        COCODetection(tmp_path / "bad.json", tmp_path, train=False)
    (tmp_path / "bad2.json").write_text('{"images": []}')
    with pytest.raises(DatasetError, match=r"bad2\.json: not a COCO"):
        COCODetection(tmp_path / "bad2.json", tmp_path, train=False)


def test_unknown_class_is_fatal(tmp_path):
    with pytest.raises(DatasetError, match=r"a\.xml.*unknown class name 'doggo'"):
        voc(tmp_path, {"a": [voc_object("doggo", 1, 1, 5, 5)]})
    write_image(tmp_path / "i.jpg", 10, 10)
    ann = write_coco(tmp_path / "c.json", [dict(id=1, file_name="i.jpg", width=10, height=10)],
                     [dict(id=1, image_id=1, category_id=9, bbox=[0, 0, 2, 2])], [dict(id=1, name="x")])
    with pytest.raises(DatasetError, match=r"c\.json.*unknown category id 9"):
        COCODetection(ann, tmp_path, train=False)


def test_degenerate_and_outside_boxes(tmp_path):
    ds = voc(tmp_path, {"a": [voc_object("dog", 10, 10, 9, 20),       # negative width
                              voc_object("cat", 5, 5, 5, 5),            # 1 px: fine in VOC
                              voc_object("cow", 40, 30, 70, 60),        # partly outside 50x40
                              voc_object("bus", 60, 50, 80, 70),        # wholly outside
                              voc_object("car", 1, 1, 50, 40)]})        # whole image
    _, t = ds[0]
    assert t["labels"].tolist() == [8, 10, 7]  # cat, cow, car; labels follow their boxes
    assert t["boxes"].tolist() == [[4, 4, 5, 5], [39, 29, 50, 40], [0, 0, 50, 40]]
    got = {(why.split(":")[-1].strip().split(" ")[0], action) for _, why, action in reasons(ds)}
    assert ("zero", "dropped object") in got and ("wholly", "dropped object") in got
    assert ("partly", "clipped box") in got
    write_image(tmp_path / "i.jpg", 10, 10)
    ann = write_coco(tmp_path / "c.json", [dict(id=1, file_name="i.jpg", width=10, height=10)],
                     [dict(id=1, image_id=1, category_id=1, bbox=[2, 2, 0, 3]),
                      dict(id=2, image_id=1, category_id=1, bbox=[8, 8, 5, 5])],
                     [dict(id=1, name="x")])
    c = COCODetection(ann, tmp_path, train=False)
    assert c[0][1]["boxes"].tolist() == [[8, 8, 10, 10]]
    assert c.skipped.counts() == {"dropped object": 1, "clipped box": 1}


def test_image_without_objects(tmp_path):
    write_voc_entry(tmp_path, "e", 50, 40, [])
    ds = voc(tmp_path, {"a": [voc_object("dog", 1, 1, 5, 5)]}, split_names=["a", "e"])
    _, t = ds[1]
    assert t["boxes"].shape == (0, 4) and t["labels"].shape == (0,) and t["orig_boxes"].shape == (0, 4)
    tr = VOCDetection(tmp_path, "s", train=True)
    assert len(tr) == 1 and "no objects" in tr.skipped.entries[0].reason


def test_duplicate_image_ids(tmp_path):
    ds = voc(tmp_path, {"a": [voc_object("dog", 1, 1, 5, 5)]}, split_names=["a", "a"])
    assert len(ds) == 1 and "duplicate image id 'a'" in ds.skipped.entries[0].reason
    write_image(tmp_path / "i.jpg", 10, 10)
    ann = write_coco(tmp_path / "c.json", [dict(id=1, file_name="i.jpg", width=10, height=10)] * 2,
                     [], [dict(id=1, name="x")])
    with pytest.raises(DatasetError, match=r"c\.json: duplicate image ids \[1\]"):
        COCODetection(ann, tmp_path, train=False)


def test_file_name_outside_root(tmp_path):
    root = tmp_path / "root"
    write_image(root / "ok.jpg", 10, 10)
    write_image(tmp_path / "secret.jpg", 10, 10)
    ann = write_coco(root / "c.json", [dict(id=1, file_name="ok.jpg", width=10, height=10),
                                       dict(id=2, file_name="../secret.jpg", width=10, height=10),
                                       dict(id=3, file_name=str(tmp_path / "secret.jpg"), width=10, height=10)],
                     [], [dict(id=1, name="x")])
    ds = COCODetection(ann, root, train=False)
    assert [r.image_id for r in ds.records] == [1]
    assert all("outside the image folder" in p.reason for p in ds.skipped)
    assert len(ds.skipped) == 2


def test_voc_image_ids_outside_root_are_skipped_and_counted(tmp_path):
    from hl_detect.data import BadImageTracker, check_dataset
    root = tmp_path / "voc"
    write_voc_entry(root, "a", 50, 40, [voc_object("dog", 1, 1, 5, 5)])
    # a readable annotation and image outside the folder, where '../../secret' and the
    # absolute id lead: loading them would train on (or leak) files the dataset never held
    write_voc_entry(tmp_path / "pool", "secret", 50, 40, [voc_object("cat", 1, 1, 5, 5)])
    (tmp_path / "pool" / "Annotations" / "secret.xml").rename(tmp_path / "secret.xml")
    (tmp_path / "pool" / "JPEGImages" / "secret.jpg").rename(tmp_path / "secret.jpg")
    absolute = str(tmp_path / "secret")
    write_split(root, "s", ["a", "../../secret", absolute])
    ds = VOCDetection(root, "s", train=False)
    assert [r.path.name for r in ds.records] == ["a.jpg"] and ds.num_listed == 3
    bad = ds.skipped.bad_images()
    assert len(bad) == 2 and {p.kind for p in bad} == {"image id outside the VOC folder"}
    assert all("points outside" in p.reason and "s.txt" in p.reason for p in bad)
    said = []
    tracker = BadImageTracker("test", ds, max_bad_images=2, say=said.append)
    assert tracker.counts()["at_load"] == 2 and "2 unusable at load" in said[0]  # each counted
    report = check_dataset(ds, decode=False)
    assert report.num_bad == 2


def test_strict_turns_skips_into_errors(tmp_path):
    write_voc_entry(tmp_path, "b", 50, 40, [], image=False)
    write_voc_entry(tmp_path, "a", 50, 40, [voc_object("dog", 1, 1, 5, 5)])
    write_split(tmp_path, "s", ["a", "b"])
    with pytest.raises(DatasetError, match=r"b\.jpg: image file not found \(strict"):
        VOCDetection(tmp_path, "s", train=False, strict=True)


def test_error_survives_dataloader_workers():
    import pickle
    e = pickle.loads(pickle.dumps(DatasetError("/x/a.jpg", "cannot read image")))
    assert str(e) == "/x/a.jpg: cannot read image" and e.path == "/x/a.jpg"
    # a DataLoader worker re-raises as exc_type(message): that must be a DatasetError again
    again = DatasetError("worker 0 caught DatasetError: /x/a.jpg: cannot read image")
    assert isinstance(again, DatasetError) and "/x/a.jpg" in str(again)


def test_train_pipeline_on_an_image_without_objects(tmp_path):
    from hl_detect.data import build_train_transforms
    write_voc_entry(tmp_path, "e", 50, 40, [])
    write_split(tmp_path, "s", ["e"])
    ds = VOCDetection(tmp_path, "s", train=True, remove_empty=False,
                      transforms=build_train_transforms(image_size=32, scale_p=1.0))
    img, t = ds[0]
    assert img.shape == (3, 32, 32) and t["boxes"].shape == (0, 4) and t["labels"].shape == (0,)
