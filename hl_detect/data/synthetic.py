"""The embedded retail-checkout dataset: scenes generated from a seed, written in VOC and
COCO layouts that share one JPEGImages/ folder.

    <root>/JPEGImages/000001.jpg ...           images (train ids 1..T, test ids T+1..T+S,
                                               val ids T+S+1..T+S+V)
    <root>/Annotations/000001.xml ...          VOC XML, 1-based inclusive like the devkit
    <root>/ImageSets/Main/{train,test,val}.txt
    <root>/annotations/instances_{train,test,val}.json   COCO; file_name "JPEGImages/000001.jpg"
    <root>/classes.txt, <root>/manifest.json   class names; generation parameters (train/test)
    <root>/manifest_val.json                   the val split's parameters

A folder is only ever replaced (deleted and regenerated) when it is this generator's own:
its manifest.json carries GENERATOR and the parameter keys, and it holds nothing the
generator does not write. Any other non-empty folder is refused (--data-root may name a
user's own data). Manifests written before the GENERATOR key (the parameter keys alone,
generator_version 1) still count as ours, so existing sets are reused, not rebuilt.

Scene i of a split draws from default_rng([seed, split index, i]) only (train 0, test 1,
val 2), so it never depends on other scenes, other splits or a global RNG. A product is
partly occluded by later ones, at most MAX_OCCLUDED of its pixels; its box is the tight box
of its visible pixels.

The val split (for choosing score thresholds without looking at test labels) is added to
an existing train/test set on first request, file by file, and never rewrites a train or
test file: train/test bytes and manifest.json are exactly those of a set generated before
val existed, so results measured on them stay valid.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .checks import DatasetError
from .synthetic_products import product_catalog, draw_product
from .writers import coco_dict, write_coco_json, write_voc_annotation

GENERATOR_VERSION = 1
GENERATOR = "hl_detect.data.synthetic"  # manifest.json's marker: this folder is ours to replace
# everything the generator writes at the top of its folder (and the atomic writes' temp files)
_OWN_ENTRIES = ("JPEGImages", "Annotations", "ImageSets", "annotations", "classes.txt",
                "manifest.json", "manifest_val.json")
MAX_OCCLUDED = 0.35
SPLITS = ("train", "test", "val")  # position = the split's index in the scene seed
DEFAULT_NUM_VAL = 150
_REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class SyntheticPaths:
    root: Path  # also the VOC folder (split names "train"/"test") and the COCO image folder
    classes: list

    def ann_file(self, split: str) -> Path:
        return self.root / "annotations" / f"instances_{split}.json"


def default_synthetic_root(num_classes: int) -> Path:
    """<repo>/data/synthetic_<C> in a source checkout (git-ignored), else ./data/..."""
    base = _REPO_ROOT if (_REPO_ROOT / "pyproject.toml").is_file() else Path.cwd()
    return base / "data" / f"synthetic_{num_classes}"


def _tray(rng: np.random.Generator, h: int, w: int) -> Image.Image:
    """Grey/beige tray: low-frequency shading, fine grain, a rim, low-contrast clutter."""
    base = rng.uniform(150, 200) + rng.uniform(-12, 12, size=3)
    coarse = rng.normal(0, 10, size=(h // 32 + 2, w // 32 + 2, 1)) + rng.normal(0, 2, size=3)
    coarse = coarse.astype(np.float32)  # mostly grey shading, a faint tint
    coarse = np.asarray(Image.fromarray(np.uint8(np.clip(coarse + 128, 0, 255))).resize(
        (w, h), Image.BILINEAR), np.float32) - 128
    grain = rng.normal(0, 4, size=(h, w, 1))
    tray = Image.fromarray(np.uint8(np.clip(base + coarse + grain, 0, 255)))
    d = ImageDraw.Draw(tray)
    rim = int(rng.integers(4, 9))
    d.rounded_rectangle([rim, rim, w - 1 - rim, h - 1 - rim], radius=3 * rim,
                        outline=tuple(int(v * 0.75) for v in base), width=rim // 2 + 1)
    for _ in range(int(rng.integers(8, 20))):  # scratches, crumbs, a receipt: no products
        tone = tuple(int(np.clip(v + rng.uniform(-30, 30), 0, 255)) for v in base)
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        kind = rng.integers(3)
        if kind == 0:
            d.line([x, y, x + rng.uniform(-40, 40), y + rng.uniform(-40, 40)], fill=tone, width=1)
        elif kind == 1:
            r = rng.uniform(1, 4)
            d.ellipse([x - r, y - r, x + r, y + r], fill=tone)
        else:
            d.rectangle([x, y, x + rng.uniform(10, 30), y + rng.uniform(15, 40)],
                        fill=(232, 230, 222))
    return tray


def render_scene(rng: np.random.Generator, specs, image_size: int, min_objects=3, max_objects=8):
    """-> (RGB image, [(label 1..C, [x0, y0, x1, y1] ints, 0-based continuous)])."""
    w = image_size
    h = image_size if rng.random() < 0.5 else int(image_size * 0.75)  # two aspect ratios
    scene = _tray(rng, h, w)
    owner = np.full((h, w), -1, np.int16)
    areas, placed = [], []  # placed: (label, x, y, sprite w, sprite h)
    for _ in range(int(rng.integers(min_objects, max_objects + 1))):
        label = int(rng.integers(len(specs))) + 1
        sprite = draw_product(specs[label - 1], int(w * rng.uniform(0.13, 0.24)), rng)
        if rng.random() < 0.5:
            sprite = sprite.rotate(rng.uniform(-12, 12), resample=Image.BILINEAR, expand=True)
        if sprite.height > 0.9 * h:
            sprite = sprite.resize((sprite.width * int(0.9 * h) // sprite.height, int(0.9 * h)))
        sw, sh = sprite.size
        mask = np.asarray(sprite)[:, :, 3] > 127
        for _try in range(15):
            x, y = int(rng.integers(0, w - sw + 1)), int(rng.integers(0, h - sh + 1))
            under = owner[y:y + sh, x:x + sw][mask]
            ids, hidden = np.unique(under[under >= 0], return_counts=True)
            visible = [np.count_nonzero(owner == j) for j in ids]
            if all(v - n >= (1 - MAX_OCCLUDED) * areas[j] for j, n, v in zip(ids, hidden, visible)):
                break
        else:
            continue  # no place that keeps the others visible enough: leave this one out
        owner[y:y + sh, x:x + sw][mask] = len(areas)
        areas.append(int(mask.sum()))
        placed.append((label, x, y, sw, sh))
        scene.paste(sprite, (x, y), sprite)
    objects = []
    for j, (label, x, y, sw, sh) in enumerate(placed):
        ys, xs = np.nonzero(owner[y:y + sh, x:x + sw] == j)
        objects.append((label, [x + int(xs.min()), y + int(ys.min()),
                                x + int(xs.max()) + 1, y + int(ys.max()) + 1]))
    # lighting: a soft gradient across the tray and sensor noise
    arr = np.asarray(scene, np.float32)
    gx = np.linspace(rng.uniform(0.85, 1.0), rng.uniform(1.0, 1.12), w, dtype=np.float32)
    arr = arr * gx[None, :, None] + rng.normal(0, 2.5, size=(h, w, 1)).astype(np.float32)
    return Image.fromarray(np.uint8(np.clip(arr, 0, 255))), objects


def _write_split(root: Path, split: str, count: int, first_id: int, specs, seed: int,
                 image_size: int) -> None:
    """Scenes 0..count-1 of ``split`` as images first_id, first_id + 1, ... in both layouts."""
    classes = [s.name for s in specs]
    split_index = SPLITS.index(split)
    (root / "JPEGImages").mkdir(parents=True, exist_ok=True)
    (root / "ImageSets" / "Main").mkdir(parents=True, exist_ok=True)
    images, objects_per_image = [], []
    for i in range(count):
        rng = np.random.default_rng([seed, split_index, i])
        image, objects = render_scene(rng, specs, image_size)
        img_id = first_id + i
        name = f"{img_id:06d}"
        image.save(root / "JPEGImages" / f"{name}.jpg", quality=92)
        named = [(classes[lab - 1], box, False) for lab, box in objects]
        write_voc_annotation(root / "Annotations" / f"{name}.xml", f"{name}.jpg",
                             image.width, image.height, named)
        images.append((img_id, f"JPEGImages/{name}.jpg", image.width, image.height))
        objects_per_image.append(named)
    (root / "ImageSets" / "Main" / f"{split}.txt").write_text(
        "".join(f"{img_id:06d}\n" for img_id, *_ in images))
    write_coco_json(root / "annotations" / f"instances_{split}.json",
                    coco_dict(images, objects_per_image, classes))


def generate_synthetic_dataset(root, num_classes=20, num_train=400, num_test=150, seed=0,
                               image_size=288, num_val=0) -> None:
    """Write a fresh dataset into `root` (which must not exist or be empty)."""
    root = Path(root)
    specs = product_catalog(num_classes)
    _write_split(root, "train", num_train, 1, specs, seed, image_size)
    _write_split(root, "test", num_test, num_train + 1, specs, seed, image_size)
    if num_val:
        _write_split(root, "val", num_val, num_train + num_test + 1, specs, seed, image_size)
    (root / "classes.txt").write_text("\n".join(s.name for s in specs) + "\n")


def _add_val_split(root: Path, params: dict, num_val: int) -> None:
    """Generate val beside an existing train/test set without touching their files.

    Written to a temporary sibling, then moved in file by file (os.replace is atomic) and
    recorded last in manifest_val.json, so a reader that sees a matching manifest_val.json
    sees every val file; two processes racing write identical bytes."""
    tmp = root.with_name(f".{root.name}.val.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        specs = product_catalog(params["num_classes"])
        first_id = params["num_train"] + params["num_test"] + 1
        _write_split(tmp, "val", num_val, first_id, specs, params["seed"], params["image_size"])
        for path in sorted(p for p in tmp.rglob("*") if p.is_file()):
            target = root / path.relative_to(tmp)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        _write_json_atomic(root / "manifest_val.json", {**params, "num_val": num_val})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _foreign_reason(root: Path, params: dict, generator: str = GENERATOR,
                    own_entries=_OWN_ENTRIES) -> str | None:
    """Why `root` is not a folder `generator` may replace, or None when it may.

    Replacing deletes everything in it, so a missing or empty folder and one of the
    generator's own sets are the only ones that qualify. The exemplar generator
    (synthetic_exemplars.py) passes its own marker and entries; only this generator has
    manifests older than the marker."""
    if not root.exists():
        return None
    if not root.is_dir():
        return "is a file, not a folder"
    entries = sorted(p.name for p in root.iterdir())
    if not entries:
        return None
    manifest = _read_json(root / "manifest.json")
    if not (root / "manifest.json").is_file():
        return "is not empty and has no manifest.json of a synthetic dataset"
    if not isinstance(manifest, dict):
        return "has a manifest.json that is not a JSON object (unreadable or not ours)"
    legacy = (generator == GENERATOR and set(manifest) == set(params)
              and manifest.get("generator_version") == 1)
    if manifest.get("generator") != generator and not legacy:
        return f"has a manifest.json that hl_detect did not write (no \"generator\": \"{generator}\")"
    others = [n for n in entries if n not in own_entries and not n.startswith(".manifest")]
    if others:
        shown = ", ".join(others[:5]) + (f" (+{len(others) - 5} more)" if len(others) > 5 else "")
        return f"holds files the generator does not write: {shown}"
    return None


def refuse_foreign(root: Path, params: dict, what: str, generator: str = GENERATOR, own_entries=_OWN_ENTRIES) -> None:
    """A DatasetError when ``root`` is not ``generator``'s to replace with ``what``
    (_foreign_reason); both generators refuse in these words, naming the way out."""
    reason = _foreign_reason(root, params, generator, own_entries)
    if reason is not None:
        error = DatasetError(root, f"{reason}; refusing to replace it with {what}")
        error.hint = (f"point --data-root (data.root) at a new or empty folder; if {root} is a "
                      f"generated set you no longer need, delete it yourself")
        raise error


def ensure_synthetic_dataset(root=None, num_classes=20, num_train=400, num_test=150, seed=0,
                             image_size=288, num_val=0) -> SyntheticPaths:
    """Generate on first use; reuse when manifest.json matches the parameters, regenerate
    when it does not. Generation goes to a temporary sibling folder that is renamed into
    place, so concurrent callers (e.g. DDP ranks) never see a half-written dataset.
    ``num_val`` > 0 also makes sure the val split holds that many scenes (added in place)."""
    root = Path(root) if root is not None else default_synthetic_root(num_classes)
    params = dict(generator_version=GENERATOR_VERSION, num_classes=num_classes,
                  num_train=num_train, num_test=num_test, seed=seed, image_size=image_size)
    manifest = root / "manifest.json"

    def current() -> bool:
        found = _read_json(manifest)
        # the marker aside, the parameters decide (a manifest written before it is current too)
        return isinstance(found, dict) and {k: v for k, v in found.items() if k != "generator"} == params

    if not current():
        refuse_foreign(root, params, "the generated dataset")
        tmp = root.with_name(f".{root.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        generate_synthetic_dataset(tmp, num_classes, num_train, num_test, seed, image_size)
        (tmp / "manifest.json").write_text(json.dumps({"generator": GENERATOR, **params}, indent=1) + "\n")
        if not current():  # another process may have finished first
            shutil.rmtree(root, ignore_errors=True)
            try:
                tmp.rename(root)
            except OSError:
                if not current():
                    raise
        shutil.rmtree(tmp, ignore_errors=True)
    if num_val and _read_json(root / "manifest_val.json") != {**params, "num_val": num_val}:
        _add_val_split(root, params, num_val)
    classes = (root / "classes.txt").read_text().split()
    return SyntheticPaths(root, classes)
