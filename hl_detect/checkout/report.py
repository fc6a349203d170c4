"""The checkout part of the printed report: the metrics at the run's threshold, per RPC level,
the val-chosen thresholds beside the fixed one for each count rule, and (only when asked
for) the oracle sweep, labelled as chosen on test.

Input: ``result["checkout"]`` as DetectionEvaluator.compute() and tools/eval_det.py build it
(fractions; None where undefined). Percentages printed, ACD as a count.
"""
from __future__ import annotations

from ..stats import percent
from ..tables import aligned_lines


def _num(x):
    return "-" if x is None else f"{x:.3f}"


def _thr(x):
    return "per class" if isinstance(x, (list, tuple)) else f"{x:.2f}"


def _rule(name, checkout):
    iou = checkout.get("agnostic_iou")
    return f"{name} (IoU > {iou:g} merged)" if name == "agnostic" and iou is not None else name


def format_levels(by_level, overall) -> list[str]:
    rows = [[lv, m["num_images"], percent(m["cAcc"]), _num(m["ACD"]), percent(m["mCCD"]), percent(m["mCIoU"])]
            for lv, m in by_level.items()]
    rows.append(["overall", sum(m["num_images"] for m in by_level.values()), percent(overall["cAcc"]),
                 _num(overall["ACD"]), percent(overall["mCCD"]), percent(overall["mCIoU"])])
    return ["  " + s for s in aligned_lines(["level", "images", "cAcc", "ACD", "mCCD", "mCIoU"], rows)]


def format_selection(selection) -> list[str]:
    out = [f"checkout thresholds chosen on {selection['chosen_on']} ({selection['criterion']}), "
           f"reported on {selection['reported_on']}:"]
    header = ["count rule", "threshold", "from", "val cAcc", "test cAcc", "test ACD", "test mCCD", "test mCIoU"]
    with_levels = any("by_level" in row["test"] for rule in selection["rules"].values() for row in rule["rows"])
    if with_levels:
        header.append("test cAcc by level")
    rows = []
    for name, rule in selection["rules"].items():
        for row in rule["rows"]:
            v, t = row["val"], row["test"]
            cells = [_rule(name, rule), _thr(row["threshold"]), row["source"], percent(v["cAcc"]), percent(t["cAcc"]),
                     _num(t["ACD"]), percent(t["mCCD"]), percent(t["mCIoU"])]
            if with_levels:
                cells.append(" / ".join(f"{lv} {percent(m['cAcc'])}" for lv, m in (t.get("by_level") or {}).items()))
            rows.append(cells)
    return out + ["  " + s for s in aligned_lines(header, rows, text_columns=3)]


def format_oracle(oracle) -> list[str]:
    parts = [f"{name} {_thr(r['best']['score_threshold'])} (cAcc {percent(r['best']['cAcc'])}, ACD {_num(r['best']['ACD'])})"
             for name, r in oracle["rules"].items()]
    return [f"{oracle['label']}, not an estimate: best threshold " + "; ".join(parts)]


def format_checkout(c) -> list[str]:
    source = c.get("threshold_source", "config")
    out = [f"checkout @{_thr(c['score_threshold'])} (count rule {_rule(c.get('count_rule', 'per_class'), c)}; "
           f"threshold from {source}): cAcc {percent(c['cAcc'])}  ACD {_num(c['ACD'])}  "
           f"mCCD {percent(c['mCCD'])}  mCIoU {percent(c['mCIoU'])}"]
    if c.get("by_level"):
        out += format_levels(c["by_level"], c)
    if "selection" in c:
        out += format_selection(c["selection"])
    if "oracle" in c:
        out += format_oracle(c["oracle"])
    return out
