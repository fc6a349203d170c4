"""A learning curve of the checkout metrics: one row per checkpoint, its threshold chosen on
validation data and its numbers reported on test (tools/checkout_curve.py builds the rows
from eval_det.py --sweep reports). The rows may also be seeds of one recipe: then
``seed_summary`` gives each metric's mean +- 95 % CI and how many seeds meet the targets."""
from __future__ import annotations

from pathlib import Path

from ..stats import mean_ci, percent
from ..tables import markdown_table

COLUMNS = ("checkpoint", "epoch", "step", "train min", "threshold", "val cAcc", "test cAcc", "test ACD",
           "test mCCD", "test mCIoU", "box acc.", "AP50")


def checkpoint_labels(paths: list[Path]) -> list[str]:
    """A name per checkpoint for tables and report folders: the file's stem, or, where names
    repeat (each seed's run/checkpoint.pt, run/epochs/epoch_008.pt), its folders' names before
    it, as many as make it unique."""
    paths = [Path(p) for p in paths]
    labels = [p.stem for p in paths]
    for depth in range(1, max(len(p.parts) for p in paths)):
        repeated = {label for label in labels if labels.count(label) > 1}
        if not repeated:
            break
        labels = ["_".join([*p.parent.parts[-depth:], p.stem]) if label in repeated else label
                  for p, label in zip(paths, labels)]
    return labels


def curve_row(path: Path, result: dict, rule: str, ckpt: dict, label: str = None) -> dict:
    """One checkpoint's line: where it is in training and its val-chosen checkout numbers."""
    rows = result["checkout"]["selection"]["rules"][rule]["rows"]
    chosen = next(r for r in rows if r["source"] == "chosen on val")
    seconds = ckpt.get("train_seconds")
    return {"checkpoint": str(path), "label": label or path.stem, "epoch": int(ckpt["epoch"]), "step": int(ckpt["step"]),
            "epoch_complete": bool(ckpt.get("epoch_complete", True)),
            "train_seconds": None if seconds is None else float(seconds), "count_rule": rule,
            "threshold": chosen["threshold"], "val_cAcc": chosen["val"]["cAcc"], "test_cAcc": chosen["test"]["cAcc"],
            "test_ACD": chosen["test"]["ACD"], "test_mCCD": chosen["test"]["mCCD"], "test_mCIoU": chosen["test"]["mCIoU"],
            "box_accuracy": result.get("box_accuracy"), "mAP50_area": result.get("mAP50_area")}


def _name(row: dict) -> str:
    return row.get("label") or Path(row["checkpoint"]).stem


def meets(row: dict, target_cacc=None, target_mciou=None) -> bool:
    return (target_cacc is None or row["test_cAcc"] >= target_cacc) and \
        (target_mciou is None or row["test_mCIoU"] >= target_mciou)


def _targets_text(target_cacc, target_mciou) -> str:
    return " and ".join(f"test {name} >= {100 * v:g} %" for name, v in (("cAcc", target_cacc), ("mCIoU", target_mciou))
                        if v is not None)


def first_meeting(rows: list[dict], target_cacc=None, target_mciou=None):
    """The first row (in training order) whose test cAcc and mCIoU reach the targets."""
    for row in sorted(rows, key=lambda r: r["step"]):
        if meets(row, target_cacc, target_mciou):
            return row
    return None


def format_curve(rows: list[dict]) -> str:
    cells = []
    for r in sorted(rows, key=lambda r: r["step"]):
        minutes = "-" if r["train_seconds"] is None else f"{r['train_seconds'] / 60:.1f}"
        epoch = str(r["epoch"]) + ("" if r["epoch_complete"] else " (part)")
        cells.append([_name(r), epoch, str(r["step"]), minutes, f"{r['threshold']:.2f}",
                      percent(r["val_cAcc"]), percent(r["test_cAcc"]), f"{r['test_ACD']:.3f}", percent(r["test_mCCD"]),
                      percent(r["test_mCIoU"]), percent(r["box_accuracy"]), percent(r["mAP50_area"])])
    return markdown_table(COLUMNS, cells)


def target_line(rows, target_cacc, target_mciou) -> str:
    want = _targets_text(target_cacc, target_mciou)
    hit = first_meeting(rows, target_cacc, target_mciou)
    if hit is None:
        return f"target {want}: not reached by any checkpoint here"
    when = "" if hit["train_seconds"] is None else f", {hit['train_seconds'] / 60:.1f} min of training"
    return f"target {want}: first reached at epoch {hit['epoch']} (step {hit['step']}{when}), {_name(hit)}"


SUMMARY_METRICS = (("test cAcc", "test_cAcc", 100), ("test ACD", "test_ACD", 1), ("test mCCD", "test_mCCD", 100),
                   ("test mCIoU", "test_mCIoU", 100), ("box acc.", "box_accuracy", 100), ("AP50", "mAP50_area", 100),
                   ("threshold", "threshold", 1), ("train min", "train_seconds", 1 / 60))


def seed_summary(rows: list[dict], target_cacc=None, target_mciou=None) -> str:
    """Rows that are seeds of one recipe: mean +- 95 % CI (t, n - 1 dof) and range of each
    metric, and how many seeds reach the targets."""
    cells = []
    for name, key, scale in SUMMARY_METRICS:
        values = [r[key] * scale for r in rows if r.get(key) is not None]
        if not values:
            continue
        stat = mean_ci(values)
        ci = "" if stat["n"] < 2 else f" +- {stat['ci']:.2f}"
        cells.append([name, f"{stat['mean']:.2f}{ci}", f"{min(values):.2f}", f"{max(values):.2f}"])
    lines = [f"over {len(rows)} checkpoints (seeds): mean +- 95 % CI [min, max]", "",
             markdown_table(["metric", "mean +- 95 % CI", "min", "max"], cells)]
    if target_cacc is not None or target_mciou is not None:
        missed = [_name(r) for r in rows if not meets(r, target_cacc, target_mciou)]
        lines += ["", f"target {_targets_text(target_cacc, target_mciou)}: met by {len(rows) - len(missed)} of "
                      f"{len(rows)} seeds" + (f" (missed: {', '.join(missed)})" if missed else "")]
    return "\n".join(lines)
