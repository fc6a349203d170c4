"""The README's RPC recipe as written, on an RPC-shaped stand-in the test builds from the
generated set: COCO JSONs with unsorted, non-contiguous category ids and supercategories,
13-digit image ids, no width/height, per-split JSONs given with data.train/test.options,
symlinked images. The train and test JSONs differ both ways: the test file lacks a training
category (fine, labels follow the ids) and, in a second file, has one the model lacks (an
error before any work, or left out and counted on request). Object counts per class are
checked against the JSON itself. Checkout on one's own data: thresholds chosen on a val
JSON given as files (eval_det --sweep --val-ann-file), keyed by those category ids, read by
predict, whose --csv counts equal its receipts."""
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
    """root/{train,test,val}2019/ (symlinks to the generated images) and RPC-style JSONs."""
    for split in ("train", "test", "val"):
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


def tool_module(script):
    spec = importlib.util.spec_from_file_location(script.replace(".py", "_tool"), REPO / "tools" / script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def eval_tool():
    return tool_module("eval_det.py")


@pytest.fixture(scope="module")
def trained(tiny_data_with_val, tmp_path_factory):
    root = tmp_path_factory.mktemp("rpc")
    moved = rpc_stand_in(tiny_data_with_val, root)
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
    # the report's last line (the [time] block follows it) says it too
    report_line = [line for line in out.splitlines() if line.startswith("[eval] test: report written")][-1]
    assert report_line.endswith("; scored on 3 of 4 images (1 unusable: see bad_images in the JSON report)")


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


def sweep_on(trained, out, val_ann, val_img, *extra):
    """eval_det --sweep choosing on val files, in this process (its errors raise)."""
    run = trained[1]
    tool = eval_tool()
    argv = [str(run), "--workers", "0", "--no-progress", "--output-dir", str(out), "--sweep",
            "--val-ann-file", str(val_ann), "--val-img-dir", str(val_img), *map(str, extra)]
    return tool.main(tool.get_args_parser().parse_args(argv))


@pytest.fixture(scope="module")
def own_thresholds(trained):
    """A sweep on root/val_k.json: the run's config names RPC's val split, whose
    instances_val2019.json the stand-in lacks, so only the files given can have been read."""
    root = trained[0]
    result = sweep_on(trained, root / "own_val", root / "val_k.json", root / "val2019")
    return result, root / "own_val" / "checkout_thresholds.json"


def test_sweep_on_val_files_keys_thresholds_by_their_categories(trained, own_thresholds):
    root = trained[0]
    result, path = own_thresholds
    selection = result["checkout"]["selection"]
    assert selection["chosen_on"] == f"file {root / 'val_k.json'}"
    chosen = json.loads(path.read_text())
    assert chosen["chosen_on"] == str(root / "val_k.json")
    model = sorted(json.loads((root / "train_k.json").read_text())["categories"], key=lambda c: c["id"])
    assert [(e["label"], e["category_id"], e["name"]) for e in chosen["class_thresholds"]] == \
        [(k, c["id"], c["name"]) for k, c in enumerate(model, start=1)]
    (per_class,) = [row for row in selection["rules"][chosen["count_rule"]]["rows"] if row["source"].startswith("per class")]
    assert [e["threshold"] for e in chosen["class_thresholds"]] == per_class["threshold"]


def test_val_files_missing_unfit_or_the_test_images_are_refused(trained, tmp_path):
    from hl_detect.data import DatasetError
    from hl_detect.errors import ConfigError, MissingFileError
    root, run, _, _ = trained
    cli = run_tool("eval_det.py", run, "--sweep", "--val-ann-file", root / "nope.json", "--val-img-dir",
                   root / "val2019", "--no-progress", check=False)
    assert cli.returncode == 2 and "Traceback" not in cli.stderr
    assert f"--val-ann-file {root / 'nope.json'}: no such annotation file" in cli.stderr
    with pytest.raises(MissingFileError, match="--val-img-dir .*nope: no such image folder"):
        sweep_on(trained, tmp_path / "a", root / "val_k.json", root / "nope")
    val = json.loads((root / "val_k.json").read_text())
    first = val["annotations"][0]["category_id"]
    extra = dict(val, categories=val["categories"] + [dict(id=5, name="5_extra", supercategory="food")],
                 annotations=[dict(a, category_id=5) if a["category_id"] == first else a for a in val["annotations"]])
    (root / "val_extra.json").write_text(json.dumps(extra))
    with pytest.raises(DatasetError) as unknown:  # the test split's category check
        sweep_on(trained, tmp_path / "b", root / "val_extra.json", root / "val2019")
    assert "val_extra.json" in str(unknown.value) and "id 5 '5_extra'" in str(unknown.value)
    with pytest.raises(ConfigError, match="shares 4 of its 4 images with the set being reported"):
        sweep_on(trained, tmp_path / "c", root / "test_lacks.json", root / "test2019")
    tool = eval_tool()
    with pytest.raises(ConfigError, match="--sweep"):
        tool.main(tool.get_args_parser().parse_args([str(run), "--val-ann-file", str(root / "val_k.json")]))
    assert not any((tmp_path / d).exists() for d in "abc")  # refused before anything was written


def predict(trained, out, *extra):
    """predict.py over the stand-in's test images, in this process; its receipts."""
    root, run, _, _ = trained
    tool = tool_module("predict.py")
    argv = [str(run), str(root / "test2019"), "--output-dir", str(out), "--no-pictures", "--device", "cpu",
            *map(str, extra)]
    return tool.main(tool.get_args_parser().parse_args(argv))


def test_predict_reads_keyed_and_old_thresholds_and_refuses_other_categories(trained, own_thresholds, tmp_path):
    _, path = own_thresholds
    chosen = json.loads(path.read_text())
    receipts = predict(trained, tmp_path / "new", "--thresholds", path, "--per-class-thresholds")
    assert receipts[0]["score_threshold"] == [e["threshold"] for e in chosen["class_thresholds"]]
    old = tmp_path / "old.json"  # the form files had before: a list indexed by label
    old.write_text(json.dumps({**chosen, "class_thresholds": [e["threshold"] for e in chosen["class_thresholds"]]}))
    old_receipts = predict(trained, tmp_path / "old", "--thresholds", old, "--per-class-thresholds")
    assert [(r["score_threshold"], r["items"]) for r in old_receipts] == [(r["score_threshold"], r["items"]) for r in receipts]
    fourth = dict(chosen["class_thresholds"][3])
    chosen["class_thresholds"][3]["category_id"] = 5  # a file written for another dataset
    other = tmp_path / "other.json"
    other.write_text(json.dumps(chosen))
    proc = run_tool("predict.py", trained[1], trained[0] / "test2019", "--output-dir", tmp_path / "o", "--device", "cpu",
                    "--thresholds", other, "--per-class-thresholds", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "do not match the model's categories" in proc.stderr
    assert f"the model's category {fourth['category_id']} {fourth['name']!r} (label 4) is not in the file" in proc.stderr


def test_predict_csv_counts_equal_the_receipts(trained, tmp_path):
    import csv
    root = trained[0]
    out, table = tmp_path / "out", tmp_path / "counts.csv"
    receipts = predict(trained, out, "--score-threshold", "0.0", "--csv", table)  # every detection an item
    with open(table, newline="") as f:
        header, *rows = list(csv.reader(f))
    model = sorted(json.loads((root / "train_k.json").read_text())["categories"], key=lambda c: c["id"])
    assert header == ["image", *(c["name"] for c in model), "total"]
    assert [row[0] for row in rows] == sorted(str(p) for p in (root / "test2019").iterdir())
    for row, receipt in zip(rows, receipts, strict=True):
        on_disk = json.loads((out / f"{os.path.splitext(os.path.basename(row[0]))[0]}.receipt.json").read_text())
        assert on_disk["items"] == receipt["items"]
        counts = {item["label"]: item["count"] for item in on_disk["items"]}
        assert [int(v) for v in row[1:-1]] == [counts.get(k, 0) for k in range(1, len(model) + 1)]
        assert int(row[-1]) == on_disk["total_items"] == sum(counts.values())
    assert sum(int(row[-1]) for row in rows) > 0  # not a table of zeros that would match anything


def test_predict_no_per_image_writes_the_same_table_and_nothing_per_image(trained, tmp_path):
    # a folder of thousands of trays: the CSV alone (and summary.json), the same counts as with the files
    predict(trained, tmp_path / "full", "--score-threshold", "0.0", "--csv", tmp_path / "full.csv")
    out = tmp_path / "lean"
    receipts = predict(trained, out, "--score-threshold", "0.0", "--csv", tmp_path / "lean.csv", "--no-per-image")
    assert (tmp_path / "lean.csv").read_text() == (tmp_path / "full.csv").read_text()
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]
    assert len(json.loads((out / "summary.json").read_text())["done"]) == len(receipts) > 0
    proc = run_tool("predict.py", trained[1], trained[0] / "test2019", "--output-dir", tmp_path / "o", "--device", "cpu",
                    "--no-per-image", check=False)  # with nothing else asked for, it would write nothing
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "--no-per-image" in proc.stderr
