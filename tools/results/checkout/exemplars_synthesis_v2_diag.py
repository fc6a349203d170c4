#!/usr/bin/env python
"""Issue 27 diagnosis (exemplars_synthesis_v2.md): how products look on synthesized trays
(tray_synthesis.compose_tray from the embedded exemplars) against the generated val/test
trays. For looking only: the numbers it prints were read to find the gap; the synthesis
never reads a tray split. Usage, from the repository root:

    python tools/results/checkout/exemplars_synthesis_v2_diag.py [JSON copy_paste_options] [--png out.png]
"""
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from hl_detect.data.exemplar_pool import Entry, ExemplarPool  # noqa: E402
from hl_detect.data.synthetic_exemplars import ensure_exemplar_dataset  # noqa: E402
from hl_detect.data.tray_synthesis import TrayConfig, compose_tray  # noqa: E402


def boxes_of(data, image_id=None):
    return [[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
            for a in data["annotations"] if image_id is None or a["image_id"] == image_id]


def sizes(boxes):
    b = np.asarray(boxes, float)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    long, short = np.maximum(w, h), np.minimum(w, h)
    return (f"long side median {np.median(long):.0f} (10-90 %: {np.percentile(long, 10):.0f}-{np.percentile(long, 90):.0f}), "
            f"short {np.median(short):.0f}, h/w {np.median(h / w):.2f}")


def edge_strength(image, boxes):
    """95th percentile of the Sobel gradient magnitude inside each box (grey levels)."""
    g = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY).astype(np.float32)
    mag = np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))
    return [float(np.percentile(mag[int(y0):int(y1), int(x0):int(x1)], 95)) for x0, y0, x1, y1 in boxes]


def main():
    args = sys.argv[1:]
    png = None
    if "--png" in args:
        png = args[args.index("--png") + 1]
        del args[args.index("--png"):args.index("--png") + 2]
    options = json.loads(args[0]) if args else {}
    paths = ensure_exemplar_dataset(None, 20, 15, 60, 150, 300, 0, 288)  # configs/demo_checkout_exemplars.yaml
    train = json.loads(paths.ann_file("train").read_text())
    files = {i["id"]: i["file_name"] for i in train["images"]}
    entries = [Entry(paths.img_dir("train") / files[a["image_id"]], tuple(b), a["category_id"], a["category_id"])
               for a, b in zip(train["annotations"], boxes_of(train))]
    pool = ExemplarPool(entries)
    config = TrayConfig.from_options({"tray_size": [216, 288], "max_products": 8, **options})
    trays = [compose_tray(np.random.default_rng([i]), pool, config, first=i % len(pool)) for i in range(150)]
    test = json.loads(paths.ann_file("test").read_text())
    print("exemplar boxes:    ", sizes(boxes_of(train)))
    print("test trays:        ", sizes(boxes_of(test)), f"| {len(test['annotations']) / len(test['images']):.2f} per tray")
    synth = [b for t in trays for b in t.boxes.tolist()]
    print("synthesized trays: ", sizes(synth), f"| {len(synth) / len(trays):.2f} per tray")
    val = json.loads(paths.ann_file("val").read_text())
    real = []
    for img in val["images"][:40]:
        image = cv2.imread(str(paths.img_dir("val") / img["file_name"]))[..., ::-1]
        real += edge_strength(image, boxes_of(val, img["id"]))
    ex = []
    for e in entries[:120]:
        ex += edge_strength(cv2.imread(str(e.path))[..., ::-1], [e.box])
    pasted = [s for t in trays[:40] for s in edge_strength(t.image, t.boxes.tolist())]
    print(f"edge strength (median of the 95th-percentile gradient in product boxes): exemplar photos {np.median(ex):.0f}, "
          f"val trays {np.median(real):.0f}, synthesized trays {np.median(pasted):.0f}")
    if png:
        rows = []
        for i in range(4):
            image = cv2.imread(str(paths.img_dir("test") / test["images"][i]["file_name"]))
            image = cv2.resize(image, (288, 216))
            rows.append(np.hstack([image, np.full((216, 6, 3), 255, np.uint8), trays[i].image[..., ::-1]]))
        cv2.imwrite(png, np.vstack(rows))


if __name__ == "__main__":
    main()
