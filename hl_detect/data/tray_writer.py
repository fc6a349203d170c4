"""Synthesized trays on disk, in RPC's layout: what tools/synthesize_checkout.py writes.

    <out>/<split>2019/000001.jpg ...           the trays
    <out>/instances_<split>2019.json           COCO JSON with RPC's fields: images carry
                                               `level` (rpc_level.py), annotations `bbox`,
                                               `area` (visible pixels), `iscrowd`; the
                                               exemplar file's categories, ids and all
    <out>/parts/000001.json ...                one finished tray each (resume)
    <out>/manifest.json                        GENERATOR + every parameter

Tray i draws from default_rng([seed, i]) only, so the set is a function of the exemplars,
the seed and the settings, and an interrupted run continues where it stopped: a tray counts
as done once its part file exists (written after its image, both atomically), and the JSON is
assembled from the parts at the end. Like the embedded generators, the writer never deletes
anything: it writes into a missing or empty folder, or resumes its own with the same
parameters; anything else is refused with the next step.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from .checks import DatasetError
from .exemplar_pool import ExemplarPool, entries_of
from .tray_synthesis import TrayConfig, compose_tray
from .writers import save_image_atomic, write_json_atomic

GENERATOR = "hl_detect.data.tray_writer"


def _own_entries(split: str) -> set:
    return {f"{split}2019", f"instances_{split}2019.json", "parts", "manifest.json"}


def _check_folder(out: Path, manifest: dict) -> None:
    """Refuse a folder that is not ours, or ours with other settings (resuming would mix)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise DatasetError(out, "is a file, not a folder")
    entries = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    if not entries:
        return
    try:
        found = json.loads((out / "manifest.json").read_text())
    except (OSError, ValueError):
        found = None
    hint = "give a new or empty output folder (the writer never deletes a folder's files)"
    if not isinstance(found, dict) or found.get("generator") != GENERATOR:
        error = DatasetError(out, "is not empty and is not a folder of synthesized trays (no manifest.json "
                                  f"with \"generator\": \"{GENERATOR}\"); refusing to write into it")
        error.hint = hint
        raise error
    others = [n for n in entries if n not in _own_entries(manifest["split"])]
    if others:
        error = DatasetError(out, f"holds files the tray writer does not write: {', '.join(others[:5])}")
        error.hint = hint
        raise error
    differ = sorted(k for k in set(found) | set(manifest) if found.get(k) != manifest.get(k))
    if differ:
        error = DatasetError(out, f"holds trays synthesized with other settings (differing: {', '.join(differ)}); "
                                  f"resuming would mix two sets")
        error.hint = f"rerun with the settings in {out / 'manifest.json'} to finish it, or {hint}"
        raise error


def synthesize_checkout(exemplars, out, num_trays: int, seed: int = 0, config: TrayConfig | None = None,
                        backgrounds=(), split: str = "train", method: str = "background",
                        progress: bool = False) -> dict:
    """Write `num_trays` trays composed from the products of `exemplars` (a loaded training
    dataset, e.g. build_dataset("rpc", root, "train", train=True)); returns counts."""
    config = config or TrayConfig()
    out = Path(out)
    backgrounds = [str(Path(b).resolve()) for b in backgrounds]
    manifest = dict(generator=GENERATOR, source=str(exemplars.source), num_products=None, num_trays=int(num_trays),
                    seed=int(seed), split=split, method=method, backgrounds=backgrounds, config=config.as_dict())
    pool = ExemplarPool(entries_of(exemplars), method=method, max_image_pixels=exemplars.max_image_pixels)
    manifest["num_products"] = len(pool)
    _check_folder(out, manifest)
    write_json_atomic(out / "manifest.json", manifest)
    folder, parts = out / f"{split}2019", out / "parts"
    counts = dict(trays=int(num_trays), resumed=0, products=0, dropped=0)
    for i in tqdm(range(num_trays), desc="trays", disable=not progress, dynamic_ncols=True):
        name = f"{i + 1:06d}"
        if (parts / f"{name}.json").is_file() and (folder / f"{name}.jpg").is_file():
            counts["resumed"] += 1
            continue
        tray = compose_tray(np.random.default_rng([seed, i]), pool, config, backgrounds)
        save_image_atomic(Image.fromarray(tray.image), folder / f"{name}.jpg", quality=92)
        h, w = tray.image.shape[:2]
        anns = [dict(category_id=label if c is None else c, bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                     area=int(a), iscrowd=0)  # a VOC exemplar has no id: its label is (as in `categories`)
                for c, label, (x0, y0, x1, y1), a in zip(tray.category_ids, tray.labels.tolist(), tray.boxes.tolist(),
                                                         tray.areas.tolist())]
        write_json_atomic(parts / f"{name}.json", dict(
            image=dict(id=i + 1, file_name=f"{name}.jpg", width=w, height=h, level=tray.level),
            annotations=anns, dropped=len(tray.dropped)))
    images, annotations = [], []
    for i in range(num_trays):
        part = json.loads((parts / f"{i + 1:06d}.json").read_text())
        images.append(part["image"])
        counts["dropped"] += part["dropped"]
        for a in part["annotations"]:
            annotations.append(dict(a, id=len(annotations) + 1, image_id=part["image"]["id"]))
    counts["products"] = len(annotations)
    categories = [dict(id=c["id"] if c.get("id") is not None else k, name=c["name"],
                       supercategory=c.get("supercategory") or "product")
                  for k, c in enumerate(exemplars.categories, start=1)]
    write_json_atomic(out / f"instances_{split}2019.json",
                      dict(images=images, annotations=annotations, categories=categories))
    return counts
