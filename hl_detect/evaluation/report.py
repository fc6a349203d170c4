"""Reports: the per-class table (terminal, CSV, JSON) and the multi-seed "best / mean / std" aggregate.

Input: the dict ``DetectionEvaluator.compute()`` returns (fractions; None where undefined).
The table prints percentages; "#objects" is the non-difficult count (the devkit's npos).
``aggregate_runs`` takes several runs (dicts or JSON paths) -> {metric: {best, mean, std, n,
values}}; metrics are dotted paths ("coco.AP", "checkout.cAcc"). std is the sample std
(ddof=1) unless ``ddof`` says otherwise; the paper does not state which.
"""
import csv
import io
import json
import os

import numpy as np

from ..atomic_files import write_text_atomic
from ..checkout.report import format_checkout
from ..stats import percent
from ..tables import aligned_lines, rule

DEFAULT_METRICS = ("mAP50_area", "mAP50_voc07", "box_accuracy", "box_coverage", "mAP_50_95")
LOWER_IS_BETTER = {"checkout.ACD", "checkout.mCCD"}
COLUMNS = ("class", "AP07", "AP-area", "accuracy", "#objects")


def table_rows(result):
    pc = result["per_class"]
    rows = [[name, pc["ap50_voc07"][i], pc["ap50_area"][i], pc["accuracy"][i],
             pc["num_objects"][i]] for i, name in enumerate(pc["class"])]
    rows.append(["mean", result["mAP50_voc07"], result["mAP50_area"], result["box_accuracy"],
                 result["num_objects"]])
    return rows


def images_note(result, prefix=""):
    """"scored on N of M images (K unreadable)" when fewer images were scored than the split
    lists (skipped at load or while running, or --max-images), else ""."""
    n, m = result.get("num_images"), result.get("num_images_listed")
    if n is None or m is None or n >= m:
        return ""
    bad = (result.get("bad_images") or {}).get("bad_images")
    why = f" ({bad} unusable: see bad_images in the JSON report)" if bad else ""
    return f"{prefix}scored on {n} of {m} images{why}"


def format_table(result):
    rows = [[r[0], percent(r[1]), percent(r[2]), percent(r[3]), str(r[4])] for r in table_rows(result)]
    head, *body = aligned_lines(COLUMNS, rows)
    out = [head, rule(head), *body[:-1], rule(head), body[-1]]  # the mean row set apart
    out.append(f"box coverage {percent(result['box_coverage'])}  "
               f"mAP@[.5:.95] (devkit matching) {percent(result['mAP_50_95'])}")
    if images_note(result):
        out.append(images_note(result))
    if "coco" in result:
        c = result["coco"]
        out.append(f"COCO AP {percent(c['AP'])}  AP50 {percent(c['AP50'])}  AP75 {percent(c['AP75'])}")
    if "checkout" in result:
        out += format_checkout(result["checkout"])
    return "\n".join(out)


CSV_DIGITS = 6  # fractions to 1e-6: what the table can mean, without float noise (1.0000000000000002)


def _csv_cell(x):
    if x is None:
        return ""
    if isinstance(x, float):
        return round(x, CSV_DIGITS)
    return x


def write_csv(result, path):
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    writer.writerows([[_csv_cell(x) for x in r] for r in table_rows(result)])
    write_text_atomic(path, text.getvalue())  # a kill mid-write leaves the old report whole


def write_json(result, path):
    write_text_atomic(path, json.dumps(result, indent=1))


def save_report(result, out_dir, name="eval"):
    """Write ``name``.csv and ``name``.json under ``out_dir``; return the table text."""
    os.makedirs(out_dir, exist_ok=True)
    write_csv(result, os.path.join(out_dir, f"{name}.csv"))
    write_json(result, os.path.join(out_dir, f"{name}.json"))
    return format_table(result)


def _lookup(result, dotted):
    for key in dotted.split("."):
        result = result.get(key) if isinstance(result, dict) else None
    return result


def aggregate_runs(runs, metrics=DEFAULT_METRICS, ddof=1):
    """best / mean / std / n of each metric over runs (reports or their JSON paths). std is
    the sample std (ddof 1), the convention of every table here (the study's CIs use it too)."""
    loaded = []
    for run in runs:
        if isinstance(run, (str, os.PathLike)):
            with open(run) as f:
                run = json.load(f)
        loaded.append(run)
    out = {}
    for metric in metrics:
        values = [v for v in (_lookup(r, metric) for r in loaded) if v is not None]
        if not values:
            continue
        arr = np.asarray(values, dtype=np.float64)
        best = arr.min() if metric in LOWER_IS_BETTER else arr.max()
        std = float(arr.std(ddof=ddof)) if len(arr) > ddof else float("nan")
        out[metric] = {"best": float(best), "mean": float(arr.mean()), "std": std,
                       "n": len(arr), "values": values}
    return out

