"""The product catalog of the embedded retail-checkout dataset, and how one product is drawn.

A class is (shape, colour, pattern, badge). Classes come in sibling pairs that share shape,
colour and pattern and differ only in a small badge colour printed on the label, so finding
a box is easy (saturated products on a grey tray) and naming it is the hard part. The catalog
depends only on the number of classes C, never on the scene seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

SHAPES = {"box": 1.25, "can": 1.55, "bottle": 2.0, "pouch": 1.2}  # shape -> height / width
COLOURS = {
    "red": (205, 40, 45), "orange": (235, 125, 30), "yellow": (230, 200, 40),
    "green": (50, 150, 60), "teal": (30, 150, 150), "blue": (40, 80, 190),
    "purple": (120, 60, 160), "pink": (225, 90, 160),
}
PATTERNS = ("stripes", "dots", "band", "diagonal", "checker")
# sibling badges: (first, second) of a family differ in this one small detail
BADGE_PAIRS = (("white", "black"), ("gold", "sky"), ("white", "gold"), ("black", "sky"))
BADGES = {"white": (245, 245, 240), "black": (25, 25, 25), "gold": (215, 170, 40),
          "sky": (120, 200, 245)}
CATALOG_SEED = 20240101  # fixed: the catalog must not change with the scene seed


@dataclass(frozen=True)
class ProductSpec:
    shape: str
    colour: str
    pattern: str
    badge: str

    @property
    def name(self) -> str:
        return f"{self.colour}_{self.shape}_{self.pattern}_{self.badge}"


def product_catalog(num_classes: int) -> list[ProductSpec]:
    """num_classes specs in label order (label k is spec k - 1); up to 320 classes."""
    # family f has shape f % 4, so even 20 classes show every shape; (colour, pattern) is
    # drawn without repetition per shape from a fixed permutation
    combos = [(c, p) for c in COLOURS for p in PATTERNS]
    rng = np.random.default_rng(CATALOG_SEED)
    perms = {s: rng.permutation(len(combos)) for s in SHAPES}
    shapes = list(SHAPES)
    specs = []
    for f in range(len(shapes) * len(combos)):
        shape = shapes[f % len(shapes)]
        colour, pattern = combos[perms[shape][f // len(shapes)]]
        for badge in BADGE_PAIRS[(f // len(shapes)) % len(BADGE_PAIRS)]:
            specs.append(ProductSpec(shape, colour, pattern, badge))
    if num_classes > len(specs):
        raise ValueError(f"at most {len(specs)} synthetic classes")
    return specs[:num_classes]


def _shade(rgb, f: float):
    return tuple(int(min(255, max(0, v * f))) for v in rgb)


def draw_product(spec: ProductSpec, width: int, rng: np.random.Generator) -> Image.Image:
    """RGBA sprite of one product instance, `width` px wide; alpha marks the product."""
    w = width
    h = int(round(w * SHAPES[spec.shape]))
    jitter = rng.uniform(0.9, 1.1)  # instance-level print/lighting variation
    body = _shade(COLOURS[spec.colour], jitter)
    dark, light = _shade(body, 0.45), _shade(body, 1.35)
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    lw = max(1, w // 30)
    if spec.shape == "box":
        d.rectangle([0, 0, w - 1, h - 1], fill=body, outline=dark, width=lw)
        d.rectangle([lw, lw, w - 1 - lw, int(0.12 * h)], fill=dark)
        label = (0.12 * w, 0.24 * h, 0.88 * w, 0.88 * h)
    elif spec.shape == "can":
        d.rounded_rectangle([0, 0, w - 1, h - 1], radius=w // 6, fill=body, outline=dark, width=lw)
        d.ellipse([lw, lw, w - 1 - lw, int(0.14 * h)], fill=(195, 195, 200), outline=dark)
        label = (0.08 * w, 0.22 * h, 0.92 * w, 0.86 * h)
    elif spec.shape == "bottle":
        d.rectangle([int(0.34 * w), int(0.06 * h), int(0.66 * w), int(0.32 * h)], fill=light,
                    outline=dark, width=lw)
        d.rectangle([int(0.3 * w), 0, int(0.7 * w), int(0.08 * h)], fill=dark)
        d.rounded_rectangle([0, int(0.28 * h), w - 1, h - 1], radius=w // 4, fill=body,
                            outline=dark, width=lw)
        label = (0.1 * w, 0.46 * h, 0.9 * w, 0.86 * h)
    else:  # pouch: crimped top edge
        teeth = 7
        top = [(w * i / teeth, (0 if i % 2 == 0 else 0.06 * h)) for i in range(teeth + 1)]
        d.polygon(top + [(w - 1, h - 1), (0, h - 1)], fill=body, outline=dark)
        label = (0.12 * w, 0.22 * h, 0.88 * w, 0.86 * h)
    x0, y0, x1, y1 = (int(round(v)) for v in label)
    patch = Image.new("RGBA", (x1 - x0, y1 - y0), body)  # keeps the pattern inside the label
    _draw_pattern(ImageDraw.Draw(patch), spec.pattern, (0, 0, x1 - x0 - 1, y1 - y0 - 1),
                  dark, light)
    img.paste(patch, (x0, y0))
    r = max(2.0, 0.12 * w)  # the badge: the one detail that separates siblings
    cx, cy = (x0 + x1) / 2, y0 + 0.3 * (y1 - y0)
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=BADGES[spec.badge], outline=dark)
    return img


def _draw_pattern(d: ImageDraw.ImageDraw, pattern: str, box, dark, light):
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    if pattern == "stripes":
        for k in range(4):
            ya = y0 + bh * k / 4
            d.rectangle([x0, ya, x1, ya + bh / 8], fill=light if k % 2 else dark)
    elif pattern == "dots":
        r = max(1.0, bw / 14)
        for i in range(3):
            for j in range(4):
                cx, cy = x0 + bw * (i + 0.5) / 3, y0 + bh * (j + 0.5) / 4
                d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=light)
    elif pattern == "band":
        d.rectangle([x0, y0 + 0.1 * bh, x1, y1 - 0.1 * bh], fill=(240, 238, 230))
        for k in range(3):  # "text" lines
            ya = y0 + bh * (0.62 + 0.1 * k)
            d.line([x0 + 0.15 * bw, ya, x1 - 0.15 * bw, ya], fill=dark, width=1)
    elif pattern == "diagonal":
        step = max(3.0, bw / 5)
        k = -bh
        while k < bw:
            d.line([x0 + k, y1, x0 + k + bh, y0], fill=light, width=max(1, int(step / 3)))
            k += step
    elif pattern == "checker":
        n = 4
        for i in range(n):
            for j in range(n):
                if (i + j) % 2 == 0:
                    d.rectangle([x0 + bw * i / n, y0 + bh * j / n, x0 + bw * (i + 1) / n,
                                 y0 + bh * (j + 1) / n], fill=light)
