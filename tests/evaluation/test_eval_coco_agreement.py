"""Our area AP vs pycocotools on randomized COCO-style input (no +1, no difficult).

Objects sit in disjoint grid cells, so a detection can have IoU > .5 with at most one object
(two disjoint intersections cannot both exceed half the detection's area); the devkit's
no-fallback rule and COCO's fallback then match identically, and coordinates are continuous, so
">" vs ">=" never matters. What remains is interpolation: pycocotools samples the same precision
envelope at 101 recall points, (1/101) sum_k p(k/100). For a non-increasing envelope the area
lies between the left and right Riemann sums with step .01, which differ by at most .01, and the
101-vs-100 normalisation moves the sum by at most another .01: |AP101 - AP_area| <= 0.02 per
class, hence for the mean too.
"""
import numpy as np

from hl_detect.evaluation import coco_ap, evaluate_voc, make_detections, make_ground_truth
from hl_detect.evaluation.voc_ap import COCO_IOU_THRESHOLDS, mean_ap


def coco_style_case(seed, n_images=60, n_classes=5):
    rng = np.random.default_rng(seed)
    g_img, g_lab, g_box, d_img, d_lab, d_sc, d_box = [], [], [], [], [], [], []
    for img in range(n_images):
        cells = rng.choice(16, size=rng.integers(1, 8), replace=False)
        for cell in cells:
            cx, cy = (cell % 4) * 100.0, (cell // 4) * 100.0
            w, h = rng.uniform(30, 90, 2)
            x, y = cx + rng.uniform(0, 100 - w), cy + rng.uniform(0, 100 - h)
            lab = int(rng.integers(1, n_classes + 1))
            g_img.append(img), g_lab.append(lab), g_box.append([x, y, x + w, y + h])
            for _ in range(rng.integers(0, 4)):
                j = rng.normal(0, 0.12, 4) * [w, h, w, h]
                b = np.array([x, y, x + w, y + h]) + j
                d_img.append(img), d_box.append([min(b[0], b[2]), min(b[1], b[3]),
                                                 max(b[0], b[2]), max(b[1], b[3])])
                d_lab.append(lab if rng.random() < 0.8 else int(rng.integers(1, n_classes + 1)))
                d_sc.append(rng.random())
        for _ in range(rng.integers(0, 10)):
            x, y = rng.uniform(0, 350, 2)
            d_img.append(img), d_box.append([x, y, x + rng.uniform(10, 60), y + rng.uniform(10, 60)])
            d_lab.append(int(rng.integers(1, n_classes + 1))), d_sc.append(rng.random() * 0.5)
    return (make_detections(d_img, d_lab, d_sc, d_box), make_ground_truth(g_img, g_lab, g_box),
            n_classes)


def test_ap50_area_close_to_pycocotools():
    gaps = []
    for seed in range(5):
        d, g, C = coco_style_case(seed)
        ours = evaluate_voc(d, g, C, COCO_IOU_THRESHOLDS, plus_one=False)
        coco = coco_ap(d, g, C, image_ids=np.arange(60))
        ap50 = mean_ap(ours["ap_area"][0], ours["npos"])
        ap75 = mean_ap(ours["ap_area"][5], ours["npos"])
        ap = np.mean([mean_ap(r, ours["npos"]) for r in ours["ap_area"]])
        gaps.append([abs(ap50 - coco["AP50"]), abs(ap75 - coco["AP75"]), abs(ap - coco["AP"])])
        assert 0.2 < coco["AP50"] < 0.99  # a non-trivial curve
    gaps = np.array(gaps)
    assert gaps.max() <= 0.02, gaps
