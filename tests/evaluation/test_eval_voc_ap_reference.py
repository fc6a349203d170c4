"""Randomized agreement with a slow VOC devkit port (python loops, nothing shared with the code).

The reference follows voc_eval.py line by line: per class, detections sorted by score (stable),
each compared with the max-IoU object of its image & class; > threshold: difficult -> ignored,
untaken -> TP, taken -> FP; else FP. Inputs sit on a coarse grid with rounded scores so that
ties in score, ties in IoU and IoU exactly at the threshold all happen.
"""
import numpy as np
import pytest

from hl_detect.evaluation import evaluate_voc, make_detections, make_ground_truth


def slow_iou(bb, gt, plus_one):
    one = 1.0 if plus_one else 0.0
    iw = max(min(bb[2], gt[2]) - max(bb[0], gt[0]) + one, 0.0)
    ih = max(min(bb[3], gt[3]) - max(bb[1], gt[1]) + one, 0.0)
    inters = iw * ih
    uni = ((bb[2] - bb[0] + one) * (bb[3] - bb[1] + one)
           + (gt[2] - gt[0] + one) * (gt[3] - gt[1] + one) - inters)
    return inters / uni


def slow_ap(rec, prec, use_07):
    if use_07:
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):
            ps = [p for r, p in zip(rec, prec) if r >= t]
            ap = ap + (max(ps) if ps else 0.0) / 11.0
        return ap
    mrec = [0.0] + list(rec) + [1.0]
    mpre = [0.0] + list(prec) + [0.0]
    for i in range(len(mpre) - 1, 0, -1):
        mpre[i - 1] = max(mpre[i - 1], mpre[i])
    return sum((mrec[i + 1] - mrec[i]) * mpre[i + 1] for i in range(len(mrec) - 1)
               if mrec[i + 1] != mrec[i])


def slow_voc_eval(det_rows, gt_rows, cls, thresh, use_07, plus_one):
    class_recs, npos = {}, 0
    for img, lab, box, diff in gt_rows:
        if lab == cls:
            rec = class_recs.setdefault(img, {"bbox": [], "difficult": [], "det": []})
            rec["bbox"].append(box)
            rec["difficult"].append(diff)
            rec["det"].append(False)
            npos += 0 if diff else 1
    if npos == 0:
        return float("nan")
    mine = sorted([r for r in det_rows if r[1] == cls], key=lambda r: -r[2])  # stable
    tp, fp = [], []
    for img, _, _, bb in mine:
        R = class_recs.get(img, {"bbox": [], "difficult": [], "det": []})
        ovmax, jmax = -np.inf, -1
        for j, gt in enumerate(R["bbox"]):
            ov = slow_iou(bb, gt, plus_one)
            if ov > ovmax:  # strict: the first of equal maxima wins, as np.argmax
                ovmax, jmax = ov, j
        if ovmax > thresh:
            if R["difficult"][jmax]:
                tp.append(0.0), fp.append(0.0)
            elif not R["det"][jmax]:
                R["det"][jmax] = True
                tp.append(1.0), fp.append(0.0)
            else:
                tp.append(0.0), fp.append(1.0)
        else:
            tp.append(0.0), fp.append(1.0)
    ctp, cfp, rec, prec = 0.0, 0.0, [], []
    for t, f in zip(tp, fp):
        ctp, cfp = ctp + t, cfp + f
        rec.append(ctp / float(npos))
        prec.append(ctp / max(ctp + cfp, np.finfo(np.float64).eps))
    return slow_ap(rec, prec, use_07)


def random_case(rng, n_images=6, n_classes=4):
    gt_rows, det_rows = [], []
    for img in range(n_images):
        for _ in range(rng.integers(0, 6)):
            x, y = rng.integers(0, 6, 2) * 2.0
            w, h = rng.integers(2, 6, 2) * 2.0
            gt_rows.append((img * 7, int(rng.integers(1, n_classes + 1)),
                            [x, y, x + w, y + h], bool(rng.random() < 0.25)))
        for _ in range(rng.integers(0, 12)):
            x, y = rng.integers(0, 7, 2) * 2.0
            w, h = rng.integers(1, 6, 2) * 2.0
            det_rows.append((img * 7, int(rng.integers(1, n_classes + 1)),
                             float(np.round(rng.random(), 1)), [x, y, x + w, y + h]))
    rng.shuffle(det_rows)
    return det_rows, gt_rows


def to_records(det_rows, gt_rows):
    d = (make_detections(*zip(*det_rows)) if det_rows
         else make_detections([], [], [], np.zeros((0, 4))))
    g = (make_ground_truth([r[0] for r in gt_rows], [r[1] for r in gt_rows],
                           [r[2] for r in gt_rows], [r[3] for r in gt_rows]) if gt_rows
         else make_ground_truth([], [], np.zeros((0, 4))))
    return d, g


@pytest.mark.parametrize("plus_one", [False, True])
def test_matches_slow_devkit_port(plus_one):
    rng = np.random.default_rng(123 + plus_one)
    n_classes, worst, compared = 4, 0.0, 0
    thresholds = (0.5, 0.7)
    for _ in range(60):
        det_rows, gt_rows = random_case(rng, n_classes=n_classes)
        d, g = to_records(det_rows, gt_rows)
        fast = evaluate_voc(d, g, n_classes, thresholds, plus_one)
        for t, thr in enumerate(thresholds):
            for c in range(1, n_classes + 1):
                for key, use_07 in (("ap_area", False), ("ap_voc07", True)):
                    ref = slow_voc_eval(det_rows, gt_rows, c, thr, use_07, plus_one)
                    got = fast[key][t, c - 1]
                    if np.isnan(ref):
                        assert np.isnan(got)
                        continue
                    worst = max(worst, abs(got - ref))
                    compared += 1
    assert compared > 500
    assert worst <= 1e-12  # same float operations; only summation order may differ
