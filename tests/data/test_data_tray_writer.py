"""Synthesized trays on disk (tray_writer.py, tools/synthesize_checkout.py): through the
project's own RPC loader and tools/check_dataset.py, the same bytes for a seed, an
interrupted run finished by rerunning it, folders that are not its own refused, and the
on-the-fly variant (data.copy_paste) of a run config."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from hl_detect.data import DatasetError, build_dataset
from hl_detect.data.rpc_level import rpc_level
from hl_detect.data.synthetic_exemplars import ensure_exemplar_dataset

REPO = Path(__file__).resolve().parents[2]
SMALL = dict(num_classes=6, views_per_class=3, num_val=1, num_test=2, num_train_trays=1, image_size=96)


def tool(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def exemplars(tmp_path_factory):
    return ensure_exemplar_dataset(tmp_path_factory.mktemp("ex") / "e", seed=1, **SMALL)


def synthesize(exemplars, out, *extra):
    mod = tool("synthesize_checkout")
    args = mod.get_args_parser().parse_args(
        ["--kind", "rpc", "--root", str(exemplars.root), "--output", str(out), "--trays", "6",
         "--tray-size", "72", "96", "--max-products", "8", "--seed", "3", *extra])
    assert mod.main(args) == 0


def all_bytes(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_written_trays_load_check_and_carry_rpc_fields(exemplars, tmp_path, capsys):
    synthesize(exemplars, tmp_path / "t")
    out = capsys.readouterr()
    assert "6 trays (0 already there)" in out.out
    assert "trays:" not in out.err and "\r" not in out.err  # no progress bar off a TTY (the test's stderr)
    data = json.loads((tmp_path / "t" / "instances_train2019.json").read_text())
    source = json.loads(exemplars.ann_file("train").read_text())
    assert data["categories"] == source["categories"]  # ids, names, supercategories kept
    ds = build_dataset("rpc", tmp_path / "t", "train", train=False)
    assert len(ds) == 6 and not ds.skipped.entries
    for img, r in zip(data["images"], ds.records):
        anns = [a for a in data["annotations"] if a["image_id"] == img["id"]]
        assert img["level"] == rpc_level(len(anns), len({a["category_id"] for a in anns}))
        assert len(r.labels) == len(anns) and (img["width"], img["height"]) == (96, 72)
        assert all(0 < a["area"] <= a["bbox"][2] * a["bbox"][3] for a in anns)  # visible pixels in the box
    check = tool("check_dataset")
    args = check.get_args_parser().parse_args(["--kind", "rpc", "--root", str(tmp_path / "t"), "--split", "train"])
    assert check.main(args) == 0
    assert "RESULT: OK" in capsys.readouterr().out


def test_same_seed_same_bytes_other_seed_other_trays(exemplars, tmp_path):
    synthesize(exemplars, tmp_path / "a")
    synthesize(exemplars, tmp_path / "b")
    a, b = all_bytes(tmp_path / "a"), all_bytes(tmp_path / "b")
    assert a == b
    synthesize(exemplars, tmp_path / "c", "--seed", "4")
    assert all_bytes(tmp_path / "c")["train2019/000001.jpg"] != a["train2019/000001.jpg"]


def test_an_interrupted_run_resumes_to_the_same_set(exemplars, tmp_path, capsys):
    synthesize(exemplars, tmp_path / "full")
    synthesize(exemplars, tmp_path / "cut")
    out = tmp_path / "cut"
    # the state a kill leaves: trays 4-6 not finished (no part), tray 5's image never written, no JSON
    for name in ("000004", "000005", "000006"):
        (out / "parts" / f"{name}.json").unlink()
    (out / "train2019" / "000005.jpg").unlink()
    (out / "instances_train2019.json").unlink()
    kept = (out / "train2019" / "000002.jpg").stat().st_mtime_ns
    capsys.readouterr()
    synthesize(exemplars, out)
    assert "6 trays (3 already there)" in capsys.readouterr().out
    assert (out / "train2019" / "000002.jpg").stat().st_mtime_ns == kept  # finished trays are not redone
    assert all_bytes(out) == all_bytes(tmp_path / "full")


def test_other_settings_or_foreign_folders_are_refused(exemplars, tmp_path):
    synthesize(exemplars, tmp_path / "t")
    before = all_bytes(tmp_path / "t")
    with pytest.raises(DatasetError, match="other settings.*seed"):
        synthesize(exemplars, tmp_path / "t", "--seed", "9")
    assert all_bytes(tmp_path / "t") == before
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="not a folder of synthesized trays") as caught:
        synthesize(exemplars, tmp_path / "mine")
    assert "new or empty output folder" in caught.value.hint
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


def test_copy_paste_turns_the_training_split_into_trays(exemplars):
    from hl_detect.run.config import dataset_config_path, load_config
    from hl_detect.data import build_datasets
    from hl_detect.engine.data_order import SeededSamples
    cfg = load_config([dataset_config_path("demo_checkout_exemplars")],
                      [f"data.root={exemplars.root}", "data.copy_paste=true", "seed=1"]
                      + [f"data.options.{k}={v}" for k, v in SMALL.items()])
    train, test = build_datasets(cfg)
    assert getattr(train, "composes_trays", False) and len(train) == 18
    samples = SeededSamples(train)
    image, target = samples[(4, 11)]
    again, target2 = samples[(4, 11)]
    other, _ = samples[(4, 12)]
    assert tuple(image.shape[1:]) == (216, 288)  # the config's tray, resized by the split's transform
    assert bool((image == again).all()) and not bool((image == other).all())
    assert target["image_id"] == train.records[4].image_id and len(target["labels"]) >= 1
    assert set(target["labels"].tolist()) <= set(range(1, 7))
    assert np.array_equal(target["boxes"].numpy(), target2["boxes"].numpy())


def test_placement_and_appearance_settings_reach_the_trays_and_the_manifest(exemplars, tmp_path):
    synthesize(exemplars, tmp_path / "plain")
    config = json.loads((tmp_path / "plain" / "manifest.json").read_text())["config"]
    assert not {"align", "upside_down", "sharpen"} & set(config)  # all off: the manifest as before
    synthesize(exemplars, tmp_path / "up", "--align", "upright", "--rotation", "10", "--upside-down", "0.25",
               "--placement-tries", "9", "--sharpen", "1.5", "--shadow", "0.6", "--colour-jitter", "0.05",
               "--blur", "0", "--noise", "1.5")
    config = json.loads((tmp_path / "up" / "manifest.json").read_text())["config"]
    assert (config["align"], config["rotation"], config["upside_down"], config["placement_tries"],
            config["sharpen"]) == ("upright", 10.0, 0.25, 9, 1.5)
    assert (config["shadow"], config["colour_jitter"], config["blur"], config["noise"]) == (0.6, 0.05, 0.0, 1.5)
    assert all_bytes(tmp_path / "up" / "train2019") != all_bytes(tmp_path / "plain" / "train2019")
    assert len(build_dataset("rpc", tmp_path / "up", "train", train=False)) == 6


def test_copy_paste_with_extra_tray_sizes_keeps_each_samples_size(exemplars):
    from hl_detect.run.config import dataset_config_path, load_config
    from hl_detect.data import build_datasets
    from hl_detect.engine.data_order import SeededSamples
    cfg = load_config([dataset_config_path("demo_checkout_exemplars")],
                      [f"data.root={exemplars.root}", "data.copy_paste=true", "seed=1",
                       "data.copy_paste_options.extra_tray_sizes=[[288, 288]]"]
                      + [f"data.options.{k}={v}" for k, v in SMALL.items()])
    train, _ = build_datasets(cfg)
    sizes = [train.get_height_and_width(i) for i in range(len(train))]
    assert set(sizes) == {(216, 288), (288, 288)}
    assert train.aspect_ratios() == [w / h for h, w in sizes]
    samples = SeededSamples(train)
    for i in range(len(train)):
        image, _ = samples[(i, 5)]  # the split's resize: min side 216, max side 288
        assert tuple(image.shape[1:]) == ((216, 288) if sizes[i] == (216, 288) else (216, 216))
        again, _ = samples[(i, 6)]  # the same index in another epoch: the same size
        assert again.shape == image.shape


def test_the_progress_bar_counts_trays_when_asked(exemplars, tmp_path, capsys):
    from hl_detect.data import build_dataset
    from hl_detect.data.tray_synthesis import TrayConfig
    from hl_detect.data.tray_writer import synthesize_checkout

    pool = build_dataset("rpc", exemplars.root, "train", train=True)
    synthesize_checkout(pool, tmp_path / "t", 3, 0, TrayConfig(tray_size=(72, 96), max_products=4), [], "train",
                        "background", True)
    err = capsys.readouterr().err
    assert "trays: 100%" in err and "3/3" in err
