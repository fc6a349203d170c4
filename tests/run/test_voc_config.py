"""`train_det.py --dataset voc0712` end to end on a miniature VOCdevkit the test writes."""
import json

import numpy as np
from PIL import Image

from tiny_runs import run_tool

OBJECT = "<object><name>{name}</name><difficult>{difficult}</difficult><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>"


def write_voc(root, year, split_names, rng):
    folder = root / f"VOC{year}"
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for split, names in split_names.items():
        (folder / "ImageSets" / "Main" / f"{split}.txt").write_text("".join(n + "\n" for n in names))
        for name in names:
            pixels = np.full((96, 128, 3), 90, np.uint8)
            objects = []
            for k, (cls, colour) in enumerate((("cat", (230, 40, 40)), ("dog", (40, 40, 230)))):
                x0, y0 = int(rng.integers(1, 40)) + 60 * k, int(rng.integers(1, 40))
                x1, y1 = x0 + 40, y0 + 40
                pixels[y0 - 1 : y1, x0 - 1 : x1] = colour  # VOC boxes are 1-based inclusive
                objects.append(OBJECT.format(name=cls, difficult=int(k == 1 and name.endswith("1")), x0=x0, y0=y0, x1=x1, y1=y1))
            Image.fromarray(pixels).save(folder / "JPEGImages" / f"{name}.jpg")
            xml = f"<annotation><filename>{name}.jpg</filename><size><width>128</width><height>96</height><depth>3</depth></size>{''.join(objects)}</annotation>"
            (folder / "Annotations" / f"{name}.xml").write_text(xml)


def test_voc0712_config_trains_and_evaluates_with_devkit_convention(tmp_path):
    rng = np.random.default_rng(0)
    devkit = tmp_path / "VOCdevkit"
    write_voc(devkit, 2007, {"trainval": ["000001", "000002"], "test": ["000011", "000012"]}, rng)
    write_voc(devkit, 2012, {"trainval": ["2008_000001", "2008_000002"]}, rng)
    out = tmp_path / "run"
    overrides = [
        "model.head=tiny", "model.weights_backbone=null", "data.resize.image_size=128", "data.workers=0",
        "model.options.min_size=128", "model.options.max_size=128", "model.options.rpn_post_nms_top_n_train=32",
        "model.options.box_batch_size_per_image=16", "batch_size=2", "max_steps_per_epoch=2", "warmup_epochs=0",
        "projector_max_points=10", "prediction_pictures=1",
    ]
    args = ["--dataset", "voc0712", "--data-root", str(devkit), "--epochs", "1", "--output-dir", str(out), "--no-progress"]
    for override in overrides:
        args += ["--set", override]
    proc = run_tool("train_det.py", *args)
    assert "train 4 images, test 2 images, 20 classes" in proc.stdout
    report = json.loads((out / "eval.json").read_text())
    assert report["settings"]["plus_one"] is True  # VOC data: the devkit's +1 pixel IoU
    assert report["num_objects"] == 3 and report["num_difficult"] == 1  # 000011's dog is difficult
    assert report["per_class"]["class"][7] == "cat"  # VOC_CLASSES order: aeroplane ... cat is label 8
