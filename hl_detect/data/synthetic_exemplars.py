"""The embedded exemplar set: RPC's protocol with no download.

RPC trains on single-product exemplars (one product on a turntable, several viewpoints) and
tests on checkout trays. This generator renders the embedded catalog's products
(synthetic_products.py) both ways and writes them in RPC's own layout, so the project's RPC
loader reads it unchanged:

    <root>/instances_train2019.json, train2019/*.jpg    exemplars: one product per image on a
                                                        near-uniform turntable background
    <root>/instances_val2019.json,   val2019/*.jpg      trays (thresholds are chosen here)
    <root>/instances_test2019.json,  test2019/*.jpg     trays (reported here)
    <root>/instances_train_trays2019.json, train_trays2019/   real generated trays of the same
                                                        products: the upper bound of what
                                                        synthesized trays can reach
    <root>/classes.txt, <root>/manifest.json            class names; parameters + GENERATOR

Exemplar i shows class i % C in view i // C; it draws from default_rng([seed, 10, i]) only,
trays of test / val / train_trays from [seed, 11 | 12 | 13, i] (synthetic.render_scene), so
no image depends on another. The product mask of an exemplar is not written (a COCO
`segmentation` would hand the cut-out its answer): ``render_exemplar`` with the same
generator returns it, which is what the cut-out tests compare against.

Folder rules are synthetic.py's (its refuse_foreign with this generator's marker): only a
missing or empty folder, or one this generator wrote and holding nothing else, is replaced.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .rpc_level import rpc_level
from .synthetic import _REPO_ROOT, _read_json, refuse_foreign, render_scene
from .synthetic_products import draw_product, product_catalog
from .writers import coco_dict, write_coco_json

GENERATOR_VERSION = 1
GENERATOR = "hl_detect.data.synthetic_exemplars"
SPLITS = ("train", "val", "test", "train_trays")
_TRAY_KEYS = {"test": 11, "val": 12, "train_trays": 13}  # the scene seed's split part
_EXEMPLAR_KEY = 10
_OWN_ENTRIES = tuple(f"{s}2019" for s in SPLITS) + tuple(f"instances_{s}2019.json" for s in SPLITS) + (
    "classes.txt", "manifest.json")


@dataclass(frozen=True)
class ExemplarPaths:
    root: Path  # an RPC root: hl_detect.data.coco.rpc_paths reads train / val / test
    classes: list

    def ann_file(self, split: str) -> Path:
        return self.root / f"instances_{split}2019.json"

    def img_dir(self, split: str) -> Path:
        return self.root / f"{split}2019"


def default_exemplar_root(num_classes: int) -> Path:
    base = _REPO_ROOT if (_REPO_ROOT / "pyproject.toml").is_file() else Path.cwd()
    return base / "data" / f"exemplars_{num_classes}"


def _turntable(rng: np.random.Generator, size: int) -> np.ndarray:
    """Near-uniform light background: one tone, a soft lighting gradient, sensor grain."""
    tone = rng.uniform(205, 235) + rng.uniform(-6, 6, size=3)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    ramp = 1 + rng.uniform(0.02, 0.06) * (np.cos(angle) * xx + np.sin(angle) * yy)
    grain = rng.normal(0, 2.0, size=(size, size, 1))
    return np.clip(tone * ramp[..., None] + grain, 0, 255).astype(np.float32)


def render_exemplar(rng: np.random.Generator, spec, image_size: int):
    """One viewpoint of one product -> (RGB image, [x0, y0, x1, y1] ints, mask bool [S, S]).

    Viewpoint: scale (the product's width 26-34 % of the image: a fixed camera distance with
    some zoom), any turntable rotation, and lighting (a gain on the product and the gradient
    of the background)."""
    s = image_size
    background = _turntable(rng, s)
    sprite = draw_product(spec, max(8, int(s * rng.uniform(0.26, 0.34))), rng)
    sprite = sprite.rotate(rng.uniform(0, 360), resample=Image.BILINEAR, expand=True)
    if max(sprite.size) > 0.92 * s:  # a bottle seen diagonally: keep it inside the frame
        f = 0.92 * s / max(sprite.size)
        sprite = sprite.resize((max(1, int(sprite.width * f)), max(1, int(sprite.height * f))), Image.BILINEAR)
    rgba = np.asarray(sprite, np.float32)
    sw, sh = sprite.size
    x, y = int(rng.integers(0, s - sw + 1)), int(rng.integers(0, s - sh + 1))
    alpha = rgba[..., 3:] / 255.0
    gain = rng.uniform(0.85, 1.15)
    window = background[y:y + sh, x:x + sw]
    background[y:y + sh, x:x + sw] = window * (1 - alpha) + np.clip(rgba[..., :3] * gain, 0, 255) * alpha
    mask = np.zeros((s, s), bool)
    mask[y:y + sh, x:x + sw] = rgba[..., 3] > 127
    ys, xs = np.nonzero(mask)
    box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
    return Image.fromarray(np.uint8(np.clip(background, 0, 255))), box, mask


def _write_split(root: Path, split: str, count: int, first_id: int, specs, seed: int, image_size: int) -> int:
    """Images first_id.. of one split in RPC's layout; returns the next free image id."""
    classes = [s.name for s in specs]
    folder = root / f"{split}2019"
    folder.mkdir(parents=True, exist_ok=True)
    images, objects, levels = [], [], []
    for i in range(count):
        if split == "train":
            rng = np.random.default_rng([seed, _EXEMPLAR_KEY, i])
            label = i % len(specs) + 1
            image, box, _ = render_exemplar(rng, specs[label - 1], image_size)
            found = [(label, box)]
        else:
            image, found = render_scene(np.random.default_rng([seed, _TRAY_KEYS[split], i]), specs, image_size)
        img_id = first_id + i
        image.save(folder / f"{img_id:06d}.jpg", quality=92)
        images.append((img_id, f"{img_id:06d}.jpg", image.width, image.height))
        objects.append([(classes[lab - 1], box, False) for lab, box in found])
        levels.append(rpc_level(len(found), len({lab for lab, _ in found})))
    data = coco_dict(images, objects, classes)
    if split != "train":  # RPC tags its checkout images with their clutter level
        for entry, level in zip(data["images"], levels):
            entry["level"] = level
    for c, spec in zip(data["categories"], specs):
        c["supercategory"] = spec.shape  # RPC groups its SKUs in supercategories
    write_coco_json(root / f"instances_{split}2019.json", data)
    return first_id + count


def generate_exemplar_dataset(root, num_classes=20, views_per_class=10, num_val=60, num_test=150,
                              num_train_trays=300, seed=0, image_size=288) -> None:
    """Write a fresh exemplar set into `root` (which must not exist or be empty)."""
    root = Path(root)
    specs = product_catalog(num_classes)
    next_id = 1
    for split, count in (("train", num_classes * views_per_class), ("val", num_val), ("test", num_test),
                         ("train_trays", num_train_trays)):
        next_id = _write_split(root, split, count, next_id, specs, seed, image_size)
    (root / "classes.txt").write_text("\n".join(s.name for s in specs) + "\n")


def ensure_exemplar_dataset(root=None, num_classes=20, views_per_class=10, num_val=60, num_test=150,
                            num_train_trays=300, seed=0, image_size=288) -> ExemplarPaths:
    """Generate on first use, reuse when manifest.json matches, regenerate (our own folder
    only) when it does not; written to a temporary sibling and renamed into place."""
    root = Path(root) if root is not None else default_exemplar_root(num_classes)
    params = dict(generator_version=GENERATOR_VERSION, num_classes=num_classes,
                  views_per_class=views_per_class, num_val=num_val, num_test=num_test,
                  num_train_trays=num_train_trays, seed=seed, image_size=image_size)
    manifest = {"generator": GENERATOR, **params}
    if _read_json(root / "manifest.json") != manifest:
        refuse_foreign(root, params, "the generated exemplar set", GENERATOR, _OWN_ENTRIES)
        tmp = root.with_name(f".{root.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            generate_exemplar_dataset(tmp, **{k: v for k, v in params.items() if k != "generator_version"})
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
            if _read_json(root / "manifest.json") != manifest:  # another process may have finished first
                shutil.rmtree(root, ignore_errors=True)
                try:
                    tmp.rename(root)
                except OSError:
                    if _read_json(root / "manifest.json") != manifest:
                        raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return ExemplarPaths(root, (root / "classes.txt").read_text().split())
