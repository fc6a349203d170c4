"""A category subset and the super-category mapping, on an RPC-layout COCO file the test writes."""
import pytest

from data_helpers import write_coco, write_image
from hl_detect.data import DatasetError, build_dataset

# unsorted, non-contiguous ids; RPC-style names "<id>_<supercategory>"; soap has no supercategory
CATS = [dict(id=9, name="9_drink", supercategory="drink"), dict(id=2, name="2_snack", supercategory="snack"),
        dict(id=12, name="12_snack", supercategory="snack"), dict(id=5, name="5_drink", supercategory="drink"),
        dict(id=30, name="30_soap")]


@pytest.fixture
def rpc_root(tmp_path):
    write_image(tmp_path / "test2019" / "t1.jpg", 100, 80)
    write_image(tmp_path / "test2019" / "t2.jpg", 100, 80)
    images = [dict(id=1, file_name="t1.jpg", width=100, height=80, level="easy"),
              dict(id=2, file_name="t2.jpg", width=100, height=80, level="hard")]
    box = lambda k: [10 * k, 5, 8, 8]
    anns = [dict(id=k + 1, image_id=img, category_id=cat, bbox=box(k), iscrowd=0, area=64)
            for k, (img, cat) in enumerate([(1, 9), (1, 2), (1, 30), (2, 12), (2, 5), (2, 5), (2, 2)])]
    write_coco(tmp_path / "instances_test2019.json", images, anns, CATS)
    return tmp_path


def labels(ds):
    return [ds[i][1]["labels"].tolist() for i in range(len(ds))]


def test_all_skus_by_default(rpc_root):
    ds = build_dataset("rpc", rpc_root, "test", train=False)
    assert ds.classes == ["2_snack", "5_drink", "9_drink", "12_snack", "30_soap"]  # ascending id
    assert labels(ds) == [[3, 1, 5], [4, 2, 2, 1]]


def test_category_subset(rpc_root):
    ds = build_dataset("rpc", rpc_root, "test", train=False, categories=[9, 2], num_classes=2)
    assert ds.classes == ["2_snack", "9_drink"]
    # image 1: 9_drink, 2_snack (soap removed); image 2: 2_snack only (12 and 5 removed)
    assert labels(ds) == [[2, 1], [1]]


def test_super_categories(rpc_root):
    ds = build_dataset("rpc", rpc_root, "test", train=False, category_level="super")
    # in ascending SKU id: 2 snack -> 1, 5 drink -> 2, 9 drink, 12 snack, 30 (none) -> its own name, 3
    assert ds.classes == ["snack", "drink", "30_soap"]
    assert labels(ds) == [[2, 1, 3], [1, 2, 2, 1]]


def test_subset_then_super(rpc_root):
    ds = build_dataset("rpc", rpc_root, "test", train=False, categories=[5, 9, 12], category_level="super")
    assert ds.classes == ["drink", "snack"] and labels(ds) == [[1], [2, 1, 1]]


def test_mistakes_are_dataset_errors_naming_the_file(rpc_root):
    with pytest.raises(DatasetError, match=r"instances_test2019.json.*does not have: \[7\]"):
        build_dataset("rpc", rpc_root, "test", train=False, categories=[2, 7])
    with pytest.raises(DatasetError, match="category_level must be one of"):
        build_dataset("rpc", rpc_root, "test", train=False, category_level="brand")
    with pytest.raises(DatasetError, match="has 2 categories, expected 113"):
        build_dataset("rpc", rpc_root, "test", train=False, categories=[2, 9], num_classes=113)


def test_checker_takes_the_subset_and_the_mapping(rpc_root, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "tools" / "check_dataset.py"
    spec = importlib.util.spec_from_file_location("check_dataset_tool", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    args = ["--kind", "rpc", "--root", str(rpc_root), "--split", "test"]
    parse = tool.get_args_parser().parse_args
    assert tool.main(parse(args + ["--categories", "9,2", "--category-level", "super", "--num-classes", "2"])) == 0
    assert "drink" in capsys.readouterr().out
    assert tool.main(parse(args + ["--categories", "2,7"])) == 2
    assert "does not have: [7]" in capsys.readouterr().out
