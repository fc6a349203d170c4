"""tools/compare_losses.py end to end: 2 losses x 2 seeds x 1 step on generated data, then a resume;
a lambda sweep trained 2 runs side by side; --seed refused."""
import importlib.util
import json
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "compare_losses.py"
FAST = [  # a few generated images, one step, the cheapest evaluation
    "data.options.num_train=4", "data.options.num_test=2", "data.options.image_size=96", "data.workers=0",
    "data.resize.min_size=96", "data.resize.max_size=96", "model.options.min_size=96", "model.options.max_size=96",
    "model.options.rpn_pre_nms_top_n_train=32", "model.options.rpn_post_nms_top_n_train=16",
    "model.options.rpn_pre_nms_top_n_test=32", "model.options.rpn_post_nms_top_n_test=16",
    "model.options.box_batch_size_per_image=16", "batch_size=2", "epochs=1", "max_steps_per_epoch=1",
    "warmup_epochs=0", "lr_warmup_iters=0", "eval_every=1", "eval_coco=false", "projector=false", "prediction_pictures=0",
    # after one step box accuracy needs some detection at IoU >= 0.5: keep every detection of 100
    # proposals, so that does not hang on the seed's random numbers (16 proposals over 0.02 missed all)
    "model.options.box_score_thresh=0.0", "model.options.box_detections_per_img=100",
    "model.options.rpn_pre_nms_top_n_test=200", "model.options.rpn_post_nms_top_n_test=100",
]


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("compare_losses", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compare(tool, tmp_path, *extra):
    argv = ["--losses", "softmax", "ccl", "--seeds", "0", "1", "--output-dir", str(tmp_path / "cmp"),
            "--data-root", str(tmp_path / "data"), "--device", "cpu", "--no-progress", *extra]
    for override in FAST:
        argv += ["--set", override]
    return tool.main(tool.get_args_parser().parse_args(argv))


def test_compare_writes_the_table_and_resumes(tool, tmp_path, capsys):
    table = compare(tool, tmp_path)
    assert list(table) == ["softmax", "ccl"]
    for agg in table.values():
        for metric in ("mAP50_area", "box_accuracy"):
            a = agg[metric]
            assert a["n"] == 2 and 0.0 <= a["mean"] <= a["best"] <= 1.0 and a["std"] >= 0.0
            assert a["best"] == max(a["values"])
    out = tmp_path / "cmp"
    text = (out / "comparison.txt").read_text()
    assert "AP50 best" in text and "Acc std" in text and "ccl" in text
    assert (out / "comparison.md").read_text().startswith("| Method |")
    assert json.loads((out / "comparison.json").read_text())["table"]["ccl"]["box_accuracy"]["n"] == 2
    assert json.loads((out / "ccl" / "seed1" / "metrics.json").read_text())["config"]["loss"] == "ccl"

    # a partly finished comparison: one run lost its metrics; only that one is picked up again
    done = {p: p.stat().st_mtime_ns for p in out.glob("*/seed*/metrics.json")}
    (out / "ccl" / "seed1" / "metrics.json").unlink()
    capsys.readouterr()
    again = compare(tool, tmp_path)
    log = capsys.readouterr().out
    assert log.count("not rerun") == 3 and "ccl seed 1: resuming" in log
    for path, stamp in done.items():
        if path.parent.name != "seed1" or path.parent.parent.name != "ccl":
            assert path.stat().st_mtime_ns == stamp
    assert again["ccl"]["box_accuracy"]["n"] == 2
    assert compare(tool, tmp_path, "--table-only")["softmax"]["mAP50_area"]["n"] == 2


def test_parallel_sweep_end_to_end(tool, tmp_path):
    argv = ["--losses", "softmax", "hl[normalize_by=elements]", "--sweep", "loss_options.hl.weight=0.002,20",
            "--seeds", "0", "--parallel", "2", "--set", "log_every=1", "--threads", "1", "--plot", "loss_options.hl.weight",
            "--output-dir", str(tmp_path / "cmp"), "--data-root", str(tmp_path / "data"), "--device", "cpu", "--no-progress"]
    for override in FAST:
        argv += ["--set", override]
    table = tool.main(tool.get_args_parser().parse_args(argv))
    assert list(table) == ["softmax", "hl[normalize_by=elements,weight=0.002]", "hl[normalize_by=elements,weight=20]"]
    out = tmp_path / "cmp"
    study = json.loads((out / "study.json").read_text())
    strong = next(a for a in study["arms"] if a["arm"].endswith("weight=20]"))
    weak = next(a for a in study["arms"] if a["arm"].endswith("weight=0.002]"))
    assert strong["grad_ratio"] > 100 * weak["grad_ratio"] > 0  # lambda scales the HL gradient
    cfg = json.loads((out / "hl__normalize_by-elements__weight-20" / "seed0" / "metrics.json").read_text())["config"]
    assert cfg["loss_options"]["hl"]["weight"] == 20 and cfg["loss_options"]["hl"]["normalize_by"] == "elements"
    seed_dir = out / "softmax" / "seed0"
    assert (out / "sweep_weight.png").is_file() and (seed_dir / "train.log").is_file() and (seed_dir / "stderr.log").is_file()
    assert (seed_dir / "train.log").read_text().count("[epoch 0] ") == 1  # written once, by the run itself


def test_single_seed_flag_is_refused_with_the_one_to_use(tool, tmp_path):
    """--seed comes with the shared training flags; a study would silently ignore it."""
    args = tool.get_args_parser().parse_args(["--losses", "hl", "--seed", "3", "--output-dir", str(tmp_path / "cmp")])
    with pytest.raises(SystemExit) as refused:
        tool.main(args)
    assert "compare_losses takes --seeds K [K ...], not --seed: --seeds 3 for that one seed" in str(refused.value.code)
    assert not (tmp_path / "cmp").exists()  # refused before anything ran or was written


def test_runs_that_resume_need_no_weights_file(tool, tmp_path):
    """A study started with --weights goes on after the file moved: its interrupted runs resume
    from their checkpoints (train_det.py builds them without the file); a run not yet started
    still needs it, and says so before anything trains."""
    from hl_detect.errors import MissingFileError
    from stock_weights import STOCK

    moved = tmp_path / "moved" / "detector.pth"
    args = tool.get_args_parser().parse_args(["--losses", "softmax", "--seeds", "0", "1", "--model", STOCK,
                                              "--weights", str(moved), "--data-root", str(tmp_path / "data")])
    arms = [tool.parse_arm("softmax")]
    for seed in (0, 1):
        run = tool.run_folder(tmp_path / "cmp", arms[0], seed)
        run.mkdir(parents=True)
        (run / "checkpoint.pt").write_bytes(b"")  # interrupted: pending_jobs only asks whether it is there
    assert [seed for _, seed, _ in tool.pending_jobs(args, arms, tmp_path / "cmp")] == [0, 1]
    (tool.run_folder(tmp_path / "cmp", arms[0], 1) / "checkpoint.pt").unlink()
    with pytest.raises(MissingFileError, match=f"--weights {moved}: no such file"):
        tool.pending_jobs(args, arms, tmp_path / "cmp")
