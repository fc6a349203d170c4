"""One input size for the data transform and the model, so they cannot disagree.

torchvision's detectors resize every image again inside the model (GeneralizedRCNNTransform,
`min_size` / `max_size`). If the data transform (`data.resize`) and the model disagree, the
model silently rescales what the loader gave it: a run meant for 300 px runs at 600, at a
quarter of the speed. `input_size` sets both:

    input_size: S            square configs (data.resize.image_size): S x S, model min = max = S
                             aspect-keeping configs (data.resize.min_size/max_size): shorter side
                             S, longer side at most S x (the config's max_size / min_size)
    input_size: [min, max]   data and model min_size / max_size, aspect ratio kept

`check_input_size` then refuses any config whose model would rescale the loader's images
(unless model.options.min_size is a list: torchvision's multi-scale training, on purpose).
"""
from __future__ import annotations

from ..errors import ConfigError

_HINT = "set input_size (--image-size) instead: it sets data.resize and model.options.min_size/max_size together"


def resolve_input_size(cfg: dict) -> dict:
    """Apply cfg["input_size"] (if set) to data.resize and model.options, in place; idempotent."""
    size = cfg.get("input_size")
    if size is None:
        return cfg
    data = cfg.setdefault("data", {})
    resize = dict(data.get("resize") or {})
    options = cfg.setdefault("model", {}).setdefault("options", {})
    if isinstance(size, (list, tuple)) and len(size) == 2 and all(_positive_int(v) for v in size):
        low, high = int(size[0]), int(size[1])
    elif _positive_int(size) and resize.get("image_size") is None and resize.get("min_size"):
        low = int(size)  # aspect-keeping config: keep its ratio of longest to shortest side
        ratio = (resize.get("max_size") or resize["min_size"]) / resize["min_size"]
        high = max(low, round(low * ratio))
    elif _positive_int(size):
        data["resize"] = {**resize, "image_size": int(size), "min_size": None, "max_size": None}
        options["min_size"] = options["max_size"] = int(size)
        return cfg
    else:
        raise ConfigError(f"input_size must be a positive int or [min_size, max_size], not {size!r}", hint=_HINT)
    if low > high:
        raise ConfigError(f"input_size {size!r}: min_size {low} is larger than max_size {high}", hint=_HINT)
    data["resize"] = {**resize, "image_size": None, "min_size": low, "max_size": high}
    options["min_size"], options["max_size"] = low, high
    return cfg


def _positive_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def check_input_size(cfg: dict) -> dict:
    """ConfigError when the model would resize the images the data transform produces."""
    resize = (cfg.get("data") or {}).get("resize") or {}
    options = (cfg.get("model") or {}).get("options") or {}
    m_min, m_max = options.get("min_size", 800), options.get("max_size", 1333)  # torchvision's defaults
    if isinstance(m_min, (list, tuple)) or not (resize.get("image_size") or resize.get("min_size")):
        return cfg
    image_size = resize.get("image_size")
    if image_size is not None:
        h, w = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        scale = min(m_min / min(h, w), m_max / max(h, w))  # GeneralizedRCNNTransform's rule
        if abs(scale - 1) > 1e-9:
            raise ConfigError(
                f"data.resize.image_size={image_size} gives {h}x{w} inputs, but model.options min_size={m_min} / "
                f"max_size={m_max} makes the model rescale them by {scale:.3g}", hint=_HINT)
        return cfg
    d_min, d_max = resize.get("min_size"), resize.get("max_size")
    if (d_min, d_max) != (m_min, m_max):
        raise ConfigError(
            f"data.resize min_size/max_size = {d_min}/{d_max} but model.options min_size/max_size = {m_min}/{m_max}: "
            f"the model would resize the loader's images again", hint=_HINT)
    return cfg
