"""One synthesized checkout tray: exemplar cut-outs pasted on an empty tray.

RPC's baselines train on trays made this way from the single-product exemplars (Wei et al.
2019: the "Syn" baseline pastes cut-out exemplars on trays; "Render" then makes them look
real). A tray holds min..max products:

- scale: one camera distance per tray, ``camera_scale`` tray pixels per exemplar pixel (or
  the one that makes the median exemplar's longer side ``product_fraction`` of the tray's
  longer side), times a per-tray jitter (camera height) and a small per-product one; the
  exemplars' sizes relative to each other are kept, as one camera sees them;
- rotation: any in-plane angle within +-``rotation`` degrees (products lie anyhow), on top of
  the angle the exemplar shows; ``align: upright`` first stands each product's long side
  upright (its min-area rectangle, exemplar_pool.product_axes), undoing the turntable's
  angle, and turns it upside down with probability ``upside_down`` (a mask does not say
  which end is up), so ``rotation`` alone sets how the products lie: 180 for products
  dropped anyhow (RPC), a few degrees for a checkout where they are set down upright. With
  ``align: upright`` the camera scale comes from the products' own long sides, not from
  their boxes (a box of a product turned by 45 degrees is up to 1.4 x longer);
- size: ``tray_size`` (H, W), or one of it and ``extra_tray_sizes`` drawn per tray at equal
  odds (a camera, or several, that deliver more than one image size; the products' pixel
  scale stays the same, from the longer side);
- position: of ``placement_tries`` random spots, the one that hides the fewest product
  pixels already on the tray (crowded trays still overlap);
- sharpening: a cut-out is resampled twice (scaled to the camera distance, then rotated)
  where a camera at that distance would have taken it once, and comes out softer than the
  products on a real tray; ``sharpen`` > 0 applies an unsharp mask of that amount (radius
  1 tray pixel) to the product's colours, inside its mask only (normalised blur: the tray
  under the edge does not halo into it);
- a soft shadow (blurred alpha, offset along one light direction per tray), a colour gain /
  offset per product, then sensor noise and, sometimes, a slight blur of the whole tray.

Labels: a product's visible pixels are those no later product covers; its box is their tight
box (as the embedded test trays', synthetic.render_scene). A product hidden beyond
``max_occluded`` of its pixels stays in the picture but leaves the labels (``dropped``): a
detector should not be taught to find what cannot be seen. Pasting uses premultiplied alpha,
so resized and rotated edges do not pick up a dark fringe.

Everything random is drawn from the generator the caller passes, in a fixed order, so a tray
is a function of (generator state, pool, config) alone.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import cv2
import numpy as np

from ..errors import ConfigError, did_you_mean
from .rpc_level import rpc_level
from .tray_backgrounds import KINDS as BACKGROUND_KINDS, generated_tray, photo_tray


ALIGN_KINDS = ("none", "upright")


@dataclass(frozen=True)
class TrayConfig:
    min_products: int = 3
    max_products: int = 20
    tray_size: tuple = (800, 800)        # (H, W) of a tray, or one int for a square
    camera_scale: float | None = None    # tray pixels per exemplar pixel; None: from product_fraction
    product_fraction: float = 0.28       # median exemplar's longer side / the tray's longer side
    scale_jitter: tuple = (0.85, 1.15)   # per tray: camera height
    product_jitter: float = 0.08         # per product: +- this fraction
    rotation: float = 180.0              # degrees, uniform in +-rotation
    max_occluded: float = 0.5            # hidden beyond this fraction: dropped from the labels
    placement_tries: int = 5
    shadow: float = 0.3                  # darkening under a product's shadow (0: none)
    colour_jitter: float = 0.1           # gain 1 +- this, offset +- 20 x this grey levels
    blur: float = 0.3                    # probability of a slight Gaussian blur of the tray
    noise: float = 2.0                   # sensor noise, grey levels (std)
    background: str = "textured"         # generated trays (no --backgrounds): plain | textured
    sharpen: float = 0.0                 # unsharp-mask amount on each pasted product (0: none)
    align: str = "none"                  # none: keep the exemplar's angle | upright: long side vertical first
    upside_down: float = 0.5             # with align upright: probability of a 180-degree turn
    extra_tray_sizes: tuple = ()         # more (H, W) a camera delivers; each tray draws one of all sizes

    def __post_init__(self):
        size = self.tray_size
        size = (int(size), int(size)) if isinstance(size, (int, float)) else tuple(int(v) for v in size)
        object.__setattr__(self, "tray_size", size)
        extra = tuple(tuple(int(v) for v in ((e, e) if isinstance(e, (int, float)) else e)) for e in self.extra_tray_sizes)
        object.__setattr__(self, "extra_tray_sizes", extra)
        object.__setattr__(self, "scale_jitter", tuple(float(v) for v in self.scale_jitter))
        problems = []
        if not 1 <= self.min_products <= self.max_products:
            problems.append(f"min_products {self.min_products} / max_products {self.max_products} need 1 <= min <= max")
        if len(size) != 2 or min(size) < 16:
            problems.append(f"tray_size {self.tray_size} must be (H, W) of at least 16 pixels")
        if any(len(e) != 2 or min(e) < 16 for e in extra):
            problems.append(f"extra_tray_sizes {self.extra_tray_sizes} must be (H, W) pairs of at least 16 pixels")
        if not 0 <= self.max_occluded <= 1:
            problems.append(f"max_occluded {self.max_occluded} must be a fraction in [0, 1]")
        if self.background not in BACKGROUND_KINDS:
            problems.append(f"background {self.background!r} must be one of {BACKGROUND_KINDS}")
        if self.align not in ALIGN_KINDS:
            problems.append(f"align {self.align!r} must be one of {ALIGN_KINDS}")
        if not 0 <= self.upside_down <= 1:
            problems.append(f"upside_down {self.upside_down} must be a probability in [0, 1]")
        if self.sharpen < 0:
            problems.append(f"sharpen {self.sharpen} must be >= 0")
        if not 0 <= self.shadow <= 1:
            problems.append(f"shadow {self.shadow} must be a darkening in [0, 1]")
        if not 0 <= self.colour_jitter < 1:
            problems.append(f"colour_jitter {self.colour_jitter} must be in [0, 1)")
        if not 0 <= self.blur <= 1:
            problems.append(f"blur {self.blur} must be a probability in [0, 1]")
        if self.noise < 0:
            problems.append(f"noise {self.noise} must be >= 0")
        if self.camera_scale is not None and self.camera_scale <= 0:
            problems.append(f"camera_scale {self.camera_scale} must be > 0")
        if problems:
            raise ConfigError("tray synthesis: " + "; ".join(problems))

    @classmethod
    def from_options(cls, options: dict | None) -> "TrayConfig":
        """From a config's keyword arguments; an unknown key is an error, not ignored."""
        options = dict(options or {})
        names = [f.name for f in fields(cls)]
        for key in options:
            if key not in names:
                raise ConfigError(f"tray synthesis has no option {key!r}; {did_you_mean(key, names, 'options')}")
        return cls(**options)

    def sizes(self) -> list:
        """Every (H, W) a tray may have: tray_size, then extra_tray_sizes."""
        return [self.tray_size, *self.extra_tray_sizes]

    def as_dict(self) -> dict:
        """The settings (a tray writer's manifest); align and upside_down only when align is on,
        sharpen and extra_tray_sizes only when on, so a folder written before they existed still matches its own
        settings."""
        out = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        if out["align"] == "none":
            del out["align"], out["upside_down"]
        if out["sharpen"] == 0:
            del out["sharpen"]
        if not out["extra_tray_sizes"]:
            del out["extra_tray_sizes"]
        else:
            out["extra_tray_sizes"] = [list(e) for e in out["extra_tray_sizes"]]
        return out


@dataclass
class Tray:
    image: np.ndarray                 # uint8 [H, W, 3]
    boxes: np.ndarray                 # float32 [N, 4] xyxy of the visible pixels
    labels: np.ndarray                # int64 [N] (the pool's labels)
    category_ids: list                # the file's category ids, aligned with labels
    visible: np.ndarray               # float32 [N] visible fraction of each labelled product
    areas: np.ndarray                 # int64 [N] visible pixels
    dropped: list = field(default_factory=list)   # [(label, visible fraction)] hidden beyond the limit
    owner: np.ndarray | None = None   # int16 [H, W]: index of the pasted product on top, -1 tray

    @property
    def level(self) -> str:
        return rpc_level(len(self.labels), len(set(self.labels.tolist())))


def _place(premult: np.ndarray, alpha: np.ndarray, f: float, angle: float):
    """Scale by f and rotate by angle (degrees), canvas grown to hold the result."""
    h, w = alpha.shape
    size = (max(1, round(w * f)), max(1, round(h * f)))
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR
    premult, alpha = cv2.resize(premult, size, interpolation=interp), cv2.resize(alpha, size, interpolation=interp)
    h, w = alpha.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(np.ceil(h * s + w * c)), int(np.ceil(h * c + w * s))
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    premult = cv2.warpAffine(premult, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=0)
    alpha = cv2.warpAffine(alpha, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=0)
    return premult.reshape(nh, nw, 3), alpha


def compose_tray(rng: np.random.Generator, pool, config: TrayConfig, backgrounds=(), first: int | None = None) -> Tray:
    """A tray of products drawn from `pool` (ExemplarPool or anything with len(), sprite(k) and
    median_long_side(aligned=False)); `first`: the pool index of the first product (the on-the-fly
    dataset's anchor), the others are drawn uniformly."""
    sizes = config.sizes()
    h, w = sizes[int(rng.integers(len(sizes)))] if len(sizes) > 1 else sizes[0]
    if backgrounds:
        tray = photo_tray(rng, backgrounds[int(rng.integers(len(backgrounds)))], h, w)
    else:
        tray = generated_tray(rng, h, w, config.background)
    upright = config.align == "upright"
    median = pool.median_long_side(aligned=True) if upright else pool.median_long_side()
    camera = config.camera_scale or config.product_fraction * max(h, w) / max(1.0, median)
    camera *= rng.uniform(*config.scale_jitter)
    light = rng.uniform(0, 2 * np.pi)
    owner = np.full((h, w), -1, np.int16)
    pasted, full_areas = [], []
    for k in range(int(rng.integers(config.min_products, config.max_products + 1))):
        index = first if (k == 0 and first is not None) else int(rng.integers(len(pool)))
        sprite = pool.sprite(index)
        a0 = sprite.rgba[..., 3].astype(np.float32) / 255
        premult = sprite.rgba[..., :3].astype(np.float32) * a0[..., None]
        f = camera / sprite.scale * (1 + rng.uniform(-config.product_jitter, config.product_jitter))
        angle = rng.uniform(-config.rotation, config.rotation)
        if upright:
            angle += sprite.upright_angle + (180.0 if rng.random() < config.upside_down else 0.0)
        premult, alpha = _place(premult, a0, f, angle)
        fit = min(1.0, 0.95 * h / alpha.shape[0], 0.95 * w / alpha.shape[1])
        if fit < 1:  # a product larger than the tray: the camera sees it whole, smaller
            premult, alpha = _place(premult, alpha, fit, 0.0)
        if config.sharpen > 0:
            premult = _sharpen(premult, alpha, config.sharpen)
        gain = 1 + rng.uniform(-config.colour_jitter, config.colour_jitter)
        offset = rng.uniform(-20, 20) * config.colour_jitter
        premult = np.clip(premult * gain + offset * alpha[..., None], 0, 255 * alpha[..., None])
        mask = alpha > 0.5
        sh, sw = alpha.shape
        spots = [(int(rng.integers(0, w - sw + 1)), int(rng.integers(0, h - sh + 1)))
                 for _ in range(max(1, config.placement_tries))]
        x, y = min(spots, key=lambda p: int((owner[p[1]:p[1] + sh, p[0]:p[0] + sw][mask] >= 0).sum()))
        if not mask.any():
            continue
        if config.shadow > 0:
            _cast_shadow(tray, alpha, x, y, config.shadow, light)
        window = tray[y:y + sh, x:x + sw]
        tray[y:y + sh, x:x + sw] = window * (1 - alpha[..., None]) + premult
        owner[y:y + sh, x:x + sw][mask] = len(pasted)
        pasted.append((sprite.label, sprite.category_id))
        full_areas.append(int(mask.sum()))
    if rng.random() < config.blur:
        tray = cv2.GaussianBlur(tray, (0, 0), rng.uniform(0.4, 0.9))
    if config.noise > 0:
        tray = tray + rng.normal(0, config.noise, size=(h, w, 1)).astype(np.float32)
    return _labels(np.uint8(np.clip(np.rint(tray), 0, 255)), owner, pasted, full_areas, config.max_occluded)


def _sharpen(premult: np.ndarray, alpha: np.ndarray, amount: float, sigma: float = 1.0) -> np.ndarray:
    """Unsharp mask of the product's own colours: colour + amount x (colour - its blur), the
    blur a normalised one (premultiplied blur / alpha blur) so only product pixels enter it."""
    a = alpha[..., None]
    inside = a > 1e-3
    colour = np.where(inside, premult / np.maximum(a, 1e-3), 0)
    blurred = cv2.GaussianBlur(premult, (0, 0), sigma) / np.maximum(cv2.GaussianBlur(alpha, (0, 0), sigma)[..., None], 1e-3)
    sharp = np.clip(colour + amount * (colour - blurred), 0, 255)
    return np.where(inside, sharp * a, 0).astype(np.float32)


def _cast_shadow(tray: np.ndarray, alpha: np.ndarray, x: int, y: int, strength: float, light: float) -> None:
    """Darken the tray under the product's blurred silhouette, shifted away from the light."""
    sh, sw = alpha.shape
    pad = max(2, int(0.08 * max(sh, sw)))
    canvas = np.zeros((sh + 2 * pad, sw + 2 * pad), np.float32)
    dx, dy = int(round(np.cos(light) * pad / 2)), int(round(np.sin(light) * pad / 2))
    canvas[pad + dy:pad + dy + sh, pad + dx:pad + dx + sw] = alpha
    canvas = cv2.GaussianBlur(canvas, (0, 0), pad / 3)
    h, w = tray.shape[:2]
    y0, x0 = y - pad, x - pad
    ty0, tx0, ty1, tx1 = max(0, y0), max(0, x0), min(h, y0 + canvas.shape[0]), min(w, x0 + canvas.shape[1])
    part = canvas[ty0 - y0:ty1 - y0, tx0 - x0:tx1 - x0]
    tray[ty0:ty1, tx0:tx1] *= (1 - strength * part)[..., None]


def _labels(image, owner, pasted, full_areas, max_occluded) -> Tray:
    boxes, labels, cats, visible, areas, dropped = [], [], [], [], [], []
    for j, ((label, cat), full) in enumerate(zip(pasted, full_areas)):
        ys, xs = np.nonzero(owner == j)
        fraction = len(ys) / full
        if len(ys) == 0 or fraction < 1 - max_occluded:
            dropped.append((label, fraction))
            continue
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        labels.append(label)
        cats.append(cat)
        visible.append(fraction)
        areas.append(len(ys))
    return Tray(image, np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(labels, np.int64),
                cats, np.asarray(visible, np.float32), np.asarray(areas, np.int64), dropped, owner)
