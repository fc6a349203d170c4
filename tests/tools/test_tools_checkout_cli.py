"""eval_det's val-chosen checkout thresholds and predict's outputs, through the real command line."""
import json
import shutil
from pathlib import Path

import pytest

from tiny_runs import run_tool, tiny_args

pytestmark = pytest.mark.slow  # whole runs of the tools, in subprocesses


@pytest.fixture(scope="module")
def tiny_run(tiny_data_with_val, tmp_path_factory):
    """A 1-epoch tiny run with the checkout metrics, on its own data (val is generated in it)."""
    tmp = tmp_path_factory.mktemp("checkout")
    run = tmp / "run"
    run_tool("train_det.py", *tiny_args(tiny_data_with_val, run, "--epochs", "1", "--set", "eval_checkout=true",
                                        "--set", "data.options.num_val=4", "--set", "prediction_pictures=0"))
    return run, tiny_data_with_val


def test_sweep_chooses_on_val_and_reports_on_test(tiny_run, tmp_path):
    run, _ = tiny_run
    proc = run_tool("eval_det.py", run, "--workers", "0", "--no-progress", "--sweep", "--oracle-sweep",
                    "--output-dir", tmp_path)
    for words in ("threshold from the run's config", "chosen on split 'val'", "reported on split 'test'",
                  "chosen on val", "per class, calibrated on val", "agnostic (IoU > 0.5 merged)",
                  "oracle (chosen on test), not an estimate"):
        assert words in proc.stdout, words
    report = json.loads((tmp_path / "eval_test.json").read_text())
    checkout = report["checkout"]
    assert checkout["count_rule"] == "agnostic"  # demo.yaml's rule
    for rule in ("per_class", "agnostic"):
        sources = [row["source"] for row in checkout["selection"]["rules"][rule]["rows"]]
        assert sources == ["the run's config", "chosen on val", "per class, calibrated on val"]
    assert checkout["oracle"]["label"] == "oracle (chosen on test)"
    chosen = json.loads((tmp_path / "checkout_thresholds.json").read_text())
    assert chosen["count_rule"] == "agnostic" and chosen["chosen_on"] == "val" and len(chosen["class_thresholds"]) == 20
    # where the time went: the sweep and the validation pass are rows of their own, and the rows add up
    seconds = report["timing"]["seconds"]
    for phase in ("loading", "data", "evaluation", "validation", "sweep", "report", "other"):
        assert seconds[phase] >= 0, phase
    assert abs(sum(v for k, v in seconds.items() if k != "total") - seconds["total"]) < 0.01
    timing_lines = [line for line in proc.stdout.splitlines() if line.startswith("[time] ")]
    assert any(line.split()[1] == "sweep" for line in timing_lines), timing_lines


def test_print_freq_spaces_the_eval_lines(tiny_run, tmp_path):
    run, _ = tiny_run
    # not a terminal (piped): progress is lines, one every --print-freq batches; 4 batches of 1 image
    every_batch = run_tool("eval_det.py", run, "--workers", "0", "-b", "1", "--max-images", "4", "--print-freq", "1",
                           "--use-deterministic-algorithms", "--output-dir", tmp_path / "a")
    every_other = run_tool("eval_det.py", run, "--workers", "0", "-b", "1", "--max-images", "4", "--print-freq", "2",
                           "--output-dir", tmp_path / "b")

    def batch_lines(proc):
        return [line.split()[2] for line in proc.stdout.splitlines() if line.startswith("[eval] batch")]

    assert batch_lines(every_batch) == ["1/4", "2/4", "3/4", "4/4"]
    assert batch_lines(every_other) == ["2/4", "4/4"]
    # the flag reached torch for the passes, and the deterministic kernels change no number on the CPU
    a = json.loads((tmp_path / "a" / "eval_test.json").read_text())
    b = json.loads((tmp_path / "b" / "eval_test.json").read_text())
    assert a["deterministic_algorithms"] is True and b["deterministic_algorithms"] is False
    assert a["mAP50_area"] == b["mAP50_area"] and a["box_accuracy"] == b["box_accuracy"]


def test_sweep_refuses_to_choose_on_the_test_split(tiny_run):
    run, _ = tiny_run
    proc = run_tool("eval_det.py", run, "--workers", "0", "--no-progress", "--sweep", "--val-split", "test", check=False)
    assert proc.returncode == 2 and "tuning on test" in proc.stderr and "Traceback" not in proc.stderr


def test_sweep_refuses_to_choose_on_training_images(tiny_run):
    run, _ = tiny_run
    proc = run_tool("eval_det.py", run, "--workers", "0", "--no-progress", "--sweep", "--val-split", "train", check=False)
    assert proc.returncode == 2 and "the val split shares" in proc.stderr and "Traceback" not in proc.stderr


def test_predict_names_by_relative_path_skips_broken_images(tiny_run, tmp_path):
    run, data = tiny_run
    trays = tmp_path / "trays"
    for cam, source in (("cam1", "000009.jpg"), ("cam2", "000010.jpg")):
        (trays / cam).mkdir(parents=True)
        shutil.copy(data / "JPEGImages" / source, trays / cam / "0001.jpg")
    (trays / "cam2" / "0002.jpg").write_bytes((data / "JPEGImages" / "000011.jpg").read_bytes()[:300])  # truncated
    out = tmp_path / "out"
    proc = run_tool("predict.py", run, trays, "--recursive", "--format", "jpg", "--output-dir", out,
                    "--score-threshold", "0.0", "--device", "cpu")
    assert "skipped" in proc.stdout and "2 of 3 images" in proc.stdout
    for cam in ("cam1", "cam2"):
        assert (out / cam / "0001.jpg").read_bytes()[:2] == b"\xff\xd8"  # a JPEG picture
        receipt = json.loads((out / cam / "0001.receipt.json").read_text())
        assert receipt["image"] == f"{cam}/0001"
        assert receipt["threshold_source"] == "the command line" and receipt["count_rule"] == "agnostic"
        for item in receipt["items"]:
            assert {"label", "category_id", "product", "supercategory", "count", "detections"} <= set(item)
            assert len(item["detections"]) == item["count"]
        detections = json.loads((out / cam / "0001.json").read_text())["detections"]
        assert all({"box_xyxy", "score", "label", "category_id", "product", "supercategory"} <= set(d)
                   for d in detections)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["done"] == ["cam1/0001", "cam2/0001"]
    assert [s["image"].endswith("0002.jpg") for s in summary["skipped"]] == [True]
    assert not (out / "cam2" / "0002.receipt.json").exists()

    json_only = tmp_path / "json_only"
    run_tool("predict.py", run, trays / "cam1", "--output-dir", json_only, "--no-pictures", "--device", "cpu")
    assert (json_only / "0001.receipt.json").is_file()
    assert not list(json_only.glob("*.png")) and not list(json_only.glob("*.jpg"))


def test_predict_outputs_never_overwrite_each_other_or_the_summary(tiny_run, tmp_path):
    # issue 24: summary.jpg's summary.json was the run's; tray.receipt.jpg's tray.receipt.json was tray.jpg's
    run, data = tiny_run
    inputs = tmp_path / "in"
    inputs.mkdir()
    sources = {"summary.jpg": "000009.jpg", "tray.jpg": "000010.jpg", "tray.receipt.jpg": "000011.jpg"}
    for name, source in sources.items():
        shutil.copy(data / "JPEGImages" / source, inputs / name)
    out = tmp_path / "out"
    run_tool("predict.py", run, inputs, "--output-dir", out, "--score-threshold", "0.0", "--device", "cpu")
    summary = json.loads((out / "summary.json").read_text())
    assert {"done", "skipped", "counting"} <= set(summary) and summary["skipped"] == []
    assert sorted(summary["done"]) == ["summary_jpg", "tray", "tray_receipt"]
    for name, image in (("summary_jpg", "summary.jpg"), ("tray", "tray.jpg"), ("tray_receipt", "tray.receipt.jpg")):
        assert Path(json.loads((out / f"{name}.json").read_text())["image"]).name == image
        assert json.loads((out / f"{name}.receipt.json").read_text())["image"] == name
        assert (out / f"{name}.png").is_file() and (out / f"{name}.receipt.txt").is_file()
    assert len(list(out.glob("*.receipt.json"))) == 3


def test_predict_skips_an_image_over_the_pixel_cap(tiny_run, tmp_path):
    from PIL import Image
    run, data = tiny_run
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(data / "JPEGImages" / "000009.jpg", inputs / "ok.jpg")
    Image.new("L", (7000, 6000)).save(inputs / "huge.png")  # 42 Mpx of black, a few KB on disk
    out = tmp_path / "out"
    proc = run_tool("predict.py", run, inputs, "--output-dir", out, "--device", "cpu")
    assert "1 of 2 images" in proc.stdout
    (skipped,) = json.loads((out / "summary.json").read_text())["skipped"]
    assert skipped["image"].endswith("huge.png") and "max_image_pixels" in skipped["reason"]


def test_predict_with_nothing_readable_is_a_user_error(tiny_run, tmp_path):
    run, _ = tiny_run
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    proc = run_tool("predict.py", run, tmp_path / "bad.jpg", "--output-dir", tmp_path / "o", "--device", "cpu",
                    check=False)
    assert proc.returncode == 2 and "could be read" in proc.stderr and "Traceback" not in proc.stderr
