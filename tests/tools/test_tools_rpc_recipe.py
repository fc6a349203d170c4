"""The README's RPC recipe as written, on an RPC-shaped stand-in the test builds from the
generated set: COCO JSONs with unsorted, non-contiguous category ids and supercategories,
13-digit image ids, no width/height, per-split JSONs given with data.train/test.options,
symlinked images. The train and test JSONs differ both ways: the test file lacks a training
category (fine, labels follow the ids) and, in a second file, has one the model lacks (an
error before any work, or left out and counted on request). Object counts per class are
checked against the JSON itself."""
import importlib.util
import json
import os
from collections import Counter

import pytest
import torch

from tiny_runs import REPO, run_tool

pytestmark = pytest.mark.slow  # whole runs of the tools, in subprocesses

TINY = ["--set", "model.head=tiny", "--set", "model.weights_backbone=null", "--image-size", "128",
        "--set", "model.options.rpn_pre_nms_top_n_train=64", "--set", "model.options.rpn_post_nms_top_n_train=32",
        "--set", "model.options.rpn_pre_nms_top_n_test=64", "--set", "model.options.rpn_post_nms_top_n_test=32",
        "--set", "model.options.box_batch_size_per_image=16", "--set", "data.workers=0",
        "--set", "data.aspect_ratio_group_factor=-1", "--set", "max_steps_per_epoch=2", "--set", "warmup_epochs=0",
        "--set", "projector_max_points=20", "--set", "prediction_pictures=1", "--set", "tensorboard_pictures=0",
        "--epochs", "1", "--batch-size", "2", "--no-progress"]


def rpc_id(k: int) -> int:
    return 1000 - 7 * k  # non-contiguous, in the opposite order of the names


def rpc_stand_in(synthetic, root):
    """root/{train,test}2019/ (symlinks to the generated images) and RPC-style JSONs."""
    for split in ("train", "test"):
        data = json.loads((synthetic / "annotations" / f"instances_{split}.json").read_text())
        folder = root / f"{split}2019"
        folder.mkdir(parents=True)
        for img in data["images"]:
            name = os.path.basename(img["file_name"])
            os.symlink(synthetic / img["file_name"], folder / name)
            img.update(file_name=name, id=2019_0000_00000 + img["id"])
            del img["width"], img["height"]
        for a in data["annotations"]:
            a.update(image_id=2019_0000_00000 + a["image_id"], category_id=rpc_id(a["category_id"]))
        data["categories"] = [dict(id=rpc_id(c["id"]), name=f"{rpc_id(c['id'])}_{c['name']}",
                                   supercategory=["drink", "food"][c["id"] % 2]) for c in data["categories"]]
        (root / f"{split}_k.json").write_text(json.dumps(data))
    test = json.loads((root / "test_k.json").read_text())
    present = Counter(a["category_id"] for a in test["annotations"])
    lacking = max(present, key=lambda c: (present[c], c))          # a category the test objects use
    lacks = dict(test, categories=[c for c in test["categories"] if c["id"] != lacking],
                 annotations=[a for a in test["annotations"] if a["category_id"] != lacking])
    (root / "test_lacks.json").write_text(json.dumps(lacks))
    extra = dict(test, categories=test["categories"] + [dict(id=5, name="5_extra", supercategory="food")],
                 annotations=[dict(a, category_id=5) if a["category_id"] == lacking else a for a in test["annotations"]])
    (root / "test_extra.json").write_text(json.dumps(extra))
    return present[lacking]


def counts_by_name(path):
    data = json.loads(path.read_text())
    names = {c["id"]: c["name"] for c in data["categories"]}
    return Counter(names[a["category_id"]] for a in data["annotations"] if not a.get("iscrowd"))


def eval_tool():
    spec = importlib.util.spec_from_file_location("eval_det_tool", REPO / "tools" / "eval_det.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def trained(tiny_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("rpc")
    moved = rpc_stand_in(tiny_data, root)
    run = root / "run"
    # the README recipe, with the tiny model's settings and the stand-in's 20 classes for 113
    proc = run_tool("train_det.py", "--dataset", "rpc", "--data-root", root, "--output-dir", run,
                    "--set", "data.options.num_classes=20",
                    "--set", f"data.train.options.ann_file={root / 'train_k.json'}",
                    "--set", f"data.test.options.ann_file={root / 'test_lacks.json'}",
                    "--set", "checkout_threshold=0.3", *TINY)
    return root, run, moved, proc.stdout


def test_recipe_trains_and_labels_follow_category_ids(trained):
    root, run, _, _ = trained
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    train = json.loads((root / "train_k.json").read_text())
    assert ckpt["categories"] == sorted(train["categories"], key=lambda c: c["id"])  # id, name, supercategory
    report = json.loads((run / "eval.json").read_text())
    got = {n: k for n, k in zip(report["per_class"]["class"], report["per_class"]["num_objects"])}
    expected = counts_by_name(root / "test_lacks.json")
    assert {n: k for n, k in got.items() if k} == dict(expected)  # and the category the file lacks has none


def test_category_the_model_lacks_stops_eval_before_any_work(trained):
    root, run, moved, _ = trained
    tool = eval_tool()
    args = tool.get_args_parser().parse_args([str(run), "--ann-file", str(root / "test_extra.json"), "--workers", "0",
                                              "--no-progress", "--output-dir", str(root / "ev")])
    from hl_detect.data import DatasetError
    with pytest.raises(DatasetError) as e:
        tool.main(args)
    assert "test_extra.json" in str(e.value) and f"id 5 '5_extra' ({moved} objects)" in str(e.value)
    assert not (root / "ev").exists()  # nothing was evaluated or written
    cli = run_tool("eval_det.py", str(run), "--ann-file", str(root / "test_extra.json"), "--no-progress", check=False)
    assert cli.returncode == 2 and "error:" in cli.stderr and "5_extra" in cli.stderr


def test_ignore_unknown_categories_reports_counts(trained, capsys):
    root, run, moved, _ = trained
    tool = eval_tool()
    args = tool.get_args_parser().parse_args([str(run), "--ann-file", str(root / "test_extra.json"), "--workers", "0",
                                              "--no-progress", "--output-dir", str(root / "ev2"),
                                              "--ignore-unknown-categories"])
    result = tool.main(args)
    assert result["ignored_categories"] == {"id 5 '5_extra'": moved}
    assert f"left out as asked: {moved} objects of 1 categories the model lacks" in capsys.readouterr().out
    counts = counts_by_name(root / "test_extra.json")
    del counts["5_extra"]
    got = {n: k for n, k in zip(result["per_class"]["class"], result["per_class"]["num_objects"]) if k}
    assert got == dict(counts)
    assert result["checkout"]["score_threshold"] == 0.3  # the run's own checkout_threshold


def test_same_images_for_train_and_test_are_refused(trained):
    root, run, _, _ = trained
    # one shared ann_file + img_dir: both splits would read the same file (issue 18's silent case)
    proc = run_tool("train_det.py", "--dataset", "rpc", "--data-root", root, "--output-dir", root / "same",
                    "--set", "data.options.num_classes=20", "--set", f"data.options.ann_file={root / 'train_k.json'}",
                    "--set", f"data.options.img_dir={root / 'train2019'}", *TINY, check=False)
    assert proc.returncode == 2 and "shares 8 of its 8 images with the training split" in proc.stderr
    assert "allow_train_test_overlap" in proc.stderr and not (root / "same" / "checkpoint.pt").exists()


def test_missing_test_images_stop_eval_or_are_reported(trained, capsys):
    root, run, _, _ = trained
    test = json.loads((root / "test_lacks.json").read_text())
    test["images"][1]["file_name"] = "deleted.jpg"
    (root / "test_missing.json").write_text(json.dumps(test))
    tool = eval_tool()
    argv = [str(run), "--ann-file", str(root / "test_missing.json"), "--workers", "0", "--no-progress",
            "--output-dir", str(root / "ev3")]
    from hl_detect.data import DatasetError
    with pytest.raises(DatasetError, match="1 of 4 images of the test split cannot be used"):
        tool.main(tool.get_args_parser().parse_args(argv))
    result = tool.main(tool.get_args_parser().parse_args(argv + ["--max-bad-images", "1"]))
    out = capsys.readouterr().out
    assert (result["num_images"], result["num_images_listed"]) == (3, 4)
    assert "[data] test: 3 of 4 images; at load time: 1 image skipped (image file not found)" in out
    assert "scored on 3 of 4 images (1 unusable" in out  # the table
    assert out.rstrip().endswith("; scored on 3 of 4 images (1 unusable: see bad_images in the JSON report)")


def test_checker_against_the_model_categories(trained, capsys):
    import importlib.util
    root, run, moved, _ = trained
    spec = importlib.util.spec_from_file_location("check_dataset_tool", REPO / "tools" / "check_dataset.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    base = ["--kind", "rpc", "--root", str(root), "--split", "test", "--categories-of", str(run), "--no-decode"]
    assert tool.main(tool.get_args_parser().parse_args(base + ["--ann-file", str(root / "test_lacks.json")])) == 0
    assert tool.main(tool.get_args_parser().parse_args(base + ["--ann-file", str(root / "test_extra.json")])) == 1
    out = capsys.readouterr().out
    assert "[FATAL] unknown category: 1" in out and f"id 5 '5_extra' ({moved} objects)" in out
