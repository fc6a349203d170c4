"""tools/check_dataset.py and datasets/check_voc_rpc_tree.py, run as users run them."""
import importlib.util
import subprocess
import sys
from pathlib import Path

from data_helpers import voc_object, write_coco, write_split, write_voc_entry

REPO = Path(__file__).resolve().parents[2]


def run(*args):
    p = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True,
                       cwd=REPO, timeout=120)
    return p.returncode, p.stdout + p.stderr


def load_tool():
    spec = importlib.util.spec_from_file_location("check_dataset_tool", REPO / "tools" / "check_dataset.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_checker_on_good_synthetic_tree(tiny_dataset, capsys):
    tool = load_tool()  # in-process: one subprocess below is enough to pin the CLI itself
    for layout in ("voc", "coco"):
        args = tool.get_args_parser().parse_args(
            ["--kind", "synthetic", "--root", str(tiny_dataset.root), "--split", "train",
             "--layout", layout, "--num-train", "8", "--num-test", "4", "--image-size", "128"])
        assert tool.main(args) == 0
        out = capsys.readouterr().out
        assert "images: 8" in out and "RESULT: OK" in out and "yellow_box_diagonal_white" in out


def test_checker_on_bad_voc_tree(tmp_path):
    vdir = tmp_path / "VOCdevkit" / "VOC2007"
    write_voc_entry(vdir, "000001", 50, 40, [voc_object("dog", 1, 1, 5, 5, difficult=1),
                                             voc_object("cat", 60, 60, 70, 70)])
    write_voc_entry(vdir, "000002", 50, 40, [voc_object("cat", 1, 1, 5, 5)])
    write_voc_entry(vdir, "000003", 50, 40, [voc_object("cat", 1, 1, 5, 5)], image=False)
    (vdir / "JPEGImages" / "000002.jpg").write_bytes(b"garbage")
    write_split(vdir, "test", ["000001", "000002", "000003"])
    rc, out = run("tools/check_dataset.py", "--kind", "voc", "--root", tmp_path / "VOCdevkit",
                  "--split", "voc07_test")
    assert rc == 1, out
    assert "[skipped image] unreadable image: 1" in out and "000002.jpg: cannot read image header" in out
    assert "000003.jpg: image file not found" in out and "wholly outside" in out
    assert "images: 1 usable of 3 listed" in out and "difficult/crowd: 1" in out
    assert "RESULT: FAILED" in out and "2 of 3 images unusable, more than max_bad_images allows (0)" in out
    tool = load_tool()
    args = tool.get_args_parser().parse_args(["--kind", "voc", "--root", str(tmp_path / "VOCdevkit"),
                                              "--split", "voc07_test", "--no-decode", "--max-bad-images", "2"])
    assert tool.main(args) == 0


def test_checker_on_unloadable_json(tmp_path, capsys):
    (tmp_path / "a.json").write_text("{nope")
    tool = load_tool()
    args = tool.get_args_parser().parse_args(["--kind", "coco", "--ann-file", str(tmp_path / "a.json"),
                                              "--img-dir", str(tmp_path)])
    assert tool.main(args) == 2
    out = capsys.readouterr().out
    assert "FATAL" in out and "a.json: malformed JSON" in out


def test_tree_checker_says_what_is_missing(tmp_path):
    v07 = tmp_path / "VOCdevkit" / "VOC2007"
    write_voc_entry(v07, "000001", 20, 20, [voc_object("cat", 1, 1, 5, 5)])
    write_voc_entry(v07, "000002", 20, 20, [voc_object("cat", 1, 1, 5, 5)], image=False)
    write_split(v07, "test", ["000001", "000002"])
    rpc = tmp_path / "rpc"
    (rpc / "val2019").mkdir(parents=True)
    write_coco(rpc / "instances_val2019.json", [dict(id=1, file_name="v.jpg")], [], [])
    rc, out = run("datasets/check_voc_rpc_tree.py", "--voc", tmp_path / "VOCdevkit",
                  "--rpc", rpc, "--count-objects")
    assert rc == 1
    assert "VOC2007 test: 2 images listed (official: 4952)" in out
    assert "1 images missing" in out and "000002.jpg" in out
    assert "VOC2007/ImageSets/Main/trainval.txt missing" in out
    assert "VOC2012/ImageSets/Main/trainval.txt missing" in out
    assert "instances_train2019.json missing" in out and "v.jpg" in out
