import pytest
import torch

from data_helpers import voc_object, write_split, write_voc_entry
from hl_detect.data import VOC_CLASSES, VOCDetection, build_dataset, voc_box_to_xyxy


def make_devkit(root):
    v07, v12 = root / "VOC2007", root / "VOC2012"
    write_voc_entry(v07, "000001", 50, 40, [voc_object("aeroplane", 1, 1, 10, 20),
                                            voc_object("tvmonitor", 48, 5, 50, 40)])
    write_voc_entry(v07, "000002", 60, 30, [voc_object("dog", 5, 5, 20, 20, difficult=1),
                                            voc_object("cat", 30, 2, 59, 29)])
    write_voc_entry(v07, "000003", 30, 60, [voc_object("person", 3, 4, 25, 50, difficult=1)])
    write_voc_entry(v07, "000004", 40, 40, [voc_object("bus", 2, 2, 39, 39)])
    write_split(v07, "trainval", ["000001", "000002", "000003"])
    write_split(v07, "test", ["000004"])
    write_voc_entry(v12, "2008_000002", 50, 50, [voc_object("horse", 10, 10, 20, 30)])
    write_split(v12, "trainval", ["2008_000002"])
    return root


def test_class_order_is_the_devkits():
    assert len(VOC_CLASSES) == 20
    assert VOC_CLASSES[0] == "aeroplane" and VOC_CLASSES[11] == "dog" and VOC_CLASSES[-1] == "tvmonitor"


def test_one_based_inclusive_to_zero_based_continuous():
    # 1-based pixels 1..10 cover the continuous interval [0, 10]
    assert voc_box_to_xyxy(1, 1, 10, 20) == [0.0, 0.0, 10.0, 20.0]
    assert voc_box_to_xyxy(48, 5, 50, 40) == [47.0, 4.0, 50.0, 40.0]


def test_loader_boxes_labels_sizes_by_hand(tmp_path):
    ds = VOCDetection(make_devkit(tmp_path), "voc07_trainval", train=False)
    img, t = ds[0]
    assert img.shape == (3, 40, 50) and img.dtype == torch.float32
    assert 0.0 <= img.min() and img.max() <= 1.0
    torch.testing.assert_close(t["boxes"], torch.tensor([[0., 0., 10., 20.], [47., 4., 50., 40.]]))
    torch.testing.assert_close(t["orig_boxes"], t["boxes"])
    assert t["labels"].tolist() == [1, 20] and t["labels"].dtype == torch.int64
    assert t["image_id"] == 2007000001 and isinstance(t["image_id"], int)
    assert t["orig_size"].tolist() == [40, 50] and t["size"].tolist() == [40, 50]
    assert t["difficult"].dtype == torch.bool
    assert ds.get_height_and_width(1) == (30, 60)
    assert ds.aspect_ratios() == [50 / 40, 60 / 30, 30 / 60]
    assert ds.num_classes == 20 and ds.classes[11] == "dog"


def test_named_splits_and_ids(tmp_path):
    root = make_devkit(tmp_path)
    sizes = {s: len(VOCDetection(root, s, train=False))
             for s in ("voc07_trainval", "voc12_trainval", "voc0712", "voc07_test")}
    assert sizes == {"voc07_trainval": 3, "voc12_trainval": 1, "voc0712": 4, "voc07_test": 1}
    ds = build_dataset("voc", root, "voc0712", train=False)
    assert [r.image_id for r in ds.records] == [2007000001, 2007000002, 2007000003, 2008000002]
    assert ds[3][1]["labels"].tolist() == [VOC_CLASSES.index("horse") + 1]


def test_difficult_policy(tmp_path):
    root = make_devkit(tmp_path)
    ev = VOCDetection(root, "voc07_trainval", train=False)
    assert ev[1][1]["difficult"].tolist() == [True, False]
    assert ev[1][1]["labels"].tolist() == [12, 8]  # dog, cat

    tr = VOCDetection(root, "voc07_trainval", train=True)
    # 000003 has only a difficult object: a training set skips it (counted)
    assert len(tr) == 2 and tr.skipped.counts()["skipped image"] == 1
    assert "000003" in tr.skipped.entries[0].file
    _, t = tr[1]
    assert t["labels"].tolist() == [8] and t["difficult"].tolist() == [False]
    torch.testing.assert_close(t["boxes"], torch.tensor([[29., 1., 59., 29.]]))

    keep = VOCDetection(root, "voc07_trainval", train=True, keep_difficult=True)
    assert len(keep) == 3 and keep[1][1]["difficult"].tolist() == [True, False]


def test_missing_split_file_is_fatal(tmp_path):
    from hl_detect.data import DatasetError
    make_devkit(tmp_path)
    with pytest.raises(DatasetError, match="val.txt"):
        VOCDetection(tmp_path / "VOC2007", "val", train=False)
