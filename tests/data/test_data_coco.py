import pytest
import torch

from data_helpers import write_coco, write_image
from hl_detect.data import COCODetection, DatasetError, build_dataset, rpc_paths

CATS = [dict(id=42, name="c42"), dict(id=3, name="c3"), dict(id=7, name="c7")]


def make_set(tmp_path):
    write_image(tmp_path / "img" / "a.jpg", 100, 80)
    write_image(tmp_path / "img" / "sub" / "b.jpg", 64, 64)
    images = [dict(id=11, file_name="a.jpg", width=100, height=80),
              dict(id=5, file_name="sub/b.jpg", width=64, height=64)]
    anns = [dict(id=1, image_id=11, category_id=42, bbox=[10, 20, 30, 40], iscrowd=0, area=1200),
            dict(id=2, image_id=11, category_id=3, bbox=[0.5, 1.5, 10, 10], iscrowd=1, area=100),
            dict(id=3, image_id=5, category_id=7, bbox=[1, 2, 3, 4], iscrowd=0, area=12)]
    return write_coco(tmp_path / "ann.json", images, anns, CATS), tmp_path / "img"


def test_contiguous_labels_names_and_xyxy(tmp_path):
    ann, img_dir = make_set(tmp_path)
    ds = COCODetection(ann, img_dir, train=False)
    assert ds.classes == ["c3", "c7", "c42"] and ds.num_classes == 3  # ascending category id
    assert ds.cat_id_to_label == {3: 1, 7: 2, 42: 3} and ds.label_to_cat_id[3] == 42
    img, t = ds[0]
    assert img.shape == (3, 80, 100) and t["image_id"] == 11
    torch.testing.assert_close(t["boxes"], torch.tensor([[10., 20., 40., 60.], [0.5, 1.5, 10.5, 11.5]]))
    assert t["labels"].tolist() == [3, 1]
    assert t["difficult"].tolist() == [False, True]  # iscrowd -> ignored by evaluation
    assert ds[1][1]["labels"].tolist() == [2] and ds[1][1]["image_id"] == 5
    assert ds.coco.getAnnIds(imgIds=[11]) == [1, 2]  # pycocotools index for COCOeval


def test_crowd_never_trains(tmp_path):
    ann, img_dir = make_set(tmp_path)
    for keep in (None, True):
        ds = COCODetection(ann, img_dir, train=True, keep_difficult=keep)
        assert ds[0][1]["labels"].tolist() == [3]
        assert not ds[0][1]["difficult"].any()


def test_expected_num_classes(tmp_path):
    ann, img_dir = make_set(tmp_path)
    with pytest.raises(DatasetError, match="expected 113"):
        COCODetection(ann, img_dir, train=False, num_classes=113)


def test_rpc_layout(tmp_path):
    ann, img_dir = rpc_paths(tmp_path, "val")
    assert ann.name == "instances_val2019.json" and img_dir.name == "val2019"
    write_image(img_dir / "x.jpg", 32, 32)
    write_coco(ann, [dict(id=1, file_name="x.jpg", width=32, height=32)],
               [dict(id=1, image_id=1, category_id=200, bbox=[1, 1, 5, 5], iscrowd=0)],
               [dict(id=i, name=f"{i}_sku") for i in range(1, 201)])
    ds = build_dataset("rpc", tmp_path, "val", train=False, num_classes=200)
    assert ds.num_classes == 200 and ds[0][1]["labels"].tolist() == [200]
    with pytest.raises(DatasetError, match="unknown RPC split"):
        build_dataset("rpc", tmp_path, "bogus", train=False)
