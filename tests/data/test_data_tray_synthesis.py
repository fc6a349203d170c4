"""Tray composition (tray_synthesis.py) against the picture itself: every pasted product is
a solid rectangle of its own colour, so the visible pixels, the tight boxes and which
products are hidden beyond the limit can be read from the tray's pixels alone."""
import numpy as np
import pytest

from hl_detect.data.exemplar_pool import Sprite
from hl_detect.data.rpc_level import rpc_level
from hl_detect.data.tray_synthesis import TrayConfig, compose_tray
from hl_detect.errors import ConfigError

EXACT = dict(tray_size=(96, 112), camera_scale=1.0, scale_jitter=(1, 1), product_jitter=0.0, rotation=0.0,
             shadow=0.0, colour_jitter=0.0, blur=0.0, noise=0.0, background="plain", placement_tries=1)


class ColourPool:
    """Sprite k of the pool is a rectangle; every call hands out a new colour and label, in
    call order, so product j of a tray is colour j (the test's independent identity)."""

    def __init__(self, sizes=((20, 28), (26, 18), (16, 34))):
        self.sizes, self.calls = sizes, []

    def __len__(self):
        return len(self.sizes)

    def median_long_side(self):
        return 28.0

    def colour(self, j):
        return (250 - 7 * j, 10 + 11 * j, (60 * j) % 251)  # saturated, far from any grey tray

    def sprite(self, k):
        j = len(self.calls)
        h, w = self.sizes[k]
        rgba = np.zeros((h, w, 4), np.uint8)
        rgba[..., :3], rgba[..., 3] = self.colour(j), 255
        self.calls.append((j + 1, h * w))
        return Sprite(rgba, j + 1, 100 + j, 1.0)


@pytest.mark.parametrize("seed", range(6))
def test_boxes_and_dropped_labels_follow_the_pixels(seed):
    pool = ColourPool()
    config = TrayConfig(min_products=8, max_products=14, max_occluded=0.3, **EXACT)
    tray = compose_tray(np.random.default_rng(seed), pool, config)
    expected_boxes, expected_dropped = {}, set()
    for label, full in pool.calls:
        ys, xs = np.nonzero((tray.image == pool.colour(label - 1)).all(axis=2))
        if len(ys) < (1 - 0.3) * full:
            expected_dropped.add(label)
        else:
            expected_boxes[label] = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    assert tray.labels.tolist() == sorted(expected_boxes)
    assert tray.boxes.tolist() == [expected_boxes[k] for k in sorted(expected_boxes)]
    assert {label for label, _ in tray.dropped} == expected_dropped
    assert tray.category_ids == [99 + k for k in sorted(expected_boxes)]
    assert tray.level == rpc_level(len(tray.labels), len(set(tray.labels.tolist())))


def test_crowded_trays_do_drop_hidden_products():
    dropped = 0
    for seed in range(6):
        tray = compose_tray(np.random.default_rng(seed), ColourPool(),
                            TrayConfig(min_products=14, max_products=14, max_occluded=0.3, **EXACT))
        dropped += len(tray.dropped)
        assert len(tray.labels) + len(tray.dropped) == 14
    assert dropped > 0  # the test above then checked real drops, not an empty set


def test_realistic_settings_keep_boxes_inside_and_are_deterministic():
    config = TrayConfig(tray_size=(80, 120), product_fraction=0.3, min_products=3, max_products=10)
    a = compose_tray(np.random.default_rng(7), ColourPool(), config)
    b = compose_tray(np.random.default_rng(7), ColourPool(), config)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.boxes, b.boxes)
    assert a.image.shape == (80, 120, 3) and len(a.labels) >= 1
    assert (a.boxes[:, :2] >= 0).all() and (a.boxes[:, 2] <= 120).all() and (a.boxes[:, 3] <= 80).all()
    assert (a.boxes[:, 2:] > a.boxes[:, :2]).all()


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="min_products"):
        TrayConfig(min_products=5, max_products=3)
    with pytest.raises(ConfigError, match="max_products"):  # a typo names the option it meant
        TrayConfig.from_options({"max_product": 4})
    assert TrayConfig.from_options({"tray_size": 64}).tray_size == (64, 64)


def pair(seed, n, **on):
    """The same tray composed twice from one seed: every appearance effect off, then ``on``
    (the effects draw the same random numbers either way, so everything else is equal)."""
    config = dict(EXACT, min_products=n, max_products=n, max_occluded=1.0)
    off = compose_tray(np.random.default_rng(seed), ColourPool(), TrayConfig(**config))
    with_it = compose_tray(np.random.default_rng(seed), ColourPool(), TrayConfig(**{**config, **on}))
    assert off.boxes.tolist() == with_it.boxes.tolist()  # appearance only: the labels stay
    return off.image.astype(np.float64), with_it.image.astype(np.float64), with_it.owner


@pytest.mark.parametrize("seed", range(3))
def test_a_shadow_darkens_only_the_tray_next_to_the_product(seed):
    off, on, owner = pair(seed, 1, shadow=0.5)
    product, tray = owner >= 0, owner < 0
    assert np.array_equal(on[product], off[product])  # the product sits on its shadow, unchanged
    ratio = on[tray] / off[tray]
    assert ratio.max() <= 1 + 1e-6 and ratio.min() >= 0.5 - 1 / 255  # never brighter, at most the strength darker
    assert (ratio < 0.9).sum() >= 10  # a visible shadow, not rounding
    ys, xs = np.nonzero(product)
    shaded = np.nonzero(((on < off - 0.5).any(axis=2)) & tray)
    # close to the product only: within its blurred, shifted silhouette's reach
    reach = 0.08 * max(np.ptp(ys) + 1, np.ptp(xs) + 1) * 2 + 2
    assert shaded[0].min() >= ys.min() - reach and shaded[0].max() <= ys.max() + reach
    assert shaded[1].min() >= xs.min() - reach and shaded[1].max() <= xs.max() + reach


@pytest.mark.parametrize("seed", range(3))
def test_colour_jitter_is_one_gain_and_offset_per_product_within_its_range(seed):
    jitter = 0.2
    off, on, owner = pair(seed, 4, colour_jitter=jitter)
    assert np.array_equal(on[owner < 0], off[owner < 0])  # the tray itself untouched
    changed = 0
    for j in np.unique(owner[owner >= 0]):
        before, after = off[owner == j], on[owner == j]
        assert (before == before[0]).all() and (after == after[0]).all()  # one colour in, one colour out
        c, v = before[0], after[0]
        # v = clip(c * gain + offset) for one gain in 1 +- jitter and one offset in +- 20 x jitter
        # (rounded): some gain on the grid leaves one offset, within range, for every channel
        gains = np.linspace(1 - jitter, 1 + jitter, 401)[:, None]
        low, high = v - 0.5 - c * gains, v + 0.5 - c * gains  # offsets each channel allows
        high = np.where(v >= 255, np.inf, high)  # clipped at white: any larger value
        low = np.where(v <= 0, -np.inf, low)
        low, high = np.maximum(low.max(axis=1), -20 * jitter), np.minimum(high.min(axis=1), 20 * jitter)
        assert (low <= high + 0.02).any(), (c, v)
        changed += int(not np.array_equal(c, v))
    assert changed >= 3


def test_blur_softens_the_tray_and_noise_has_its_std():
    off, on, _ = pair(5, 3, blur=1.0)

    def edges(image):  # the energy of neighbour differences: what a blur takes away
        return (np.diff(image, axis=0) ** 2).sum() + (np.diff(image, axis=1) ** 2).sum()

    assert edges(on) < 0.8 * edges(off) and abs(on.mean() - off.mean()) < 0.5  # softer, not darker
    off, on, _ = pair(5, 3, noise=3.0)
    diff = on - off
    assert 2.7 < diff.std() < 3.3 and abs(diff.mean()) < 0.3
    # one grey noise per pixel, as a sensor's luminance: the channels differ by rounding only
    inside = ((off > 15) & (off < 240)).all(axis=2)  # away from clipping at black and white
    assert inside.mean() > 0.5
    assert np.abs(diff[inside][:, 0] - diff[inside][:, 1]).max() <= 1
    assert np.abs(diff[inside][:, 1] - diff[inside][:, 2]).max() <= 1


def test_appearance_settings_out_of_range_are_config_errors():
    for bad in (dict(shadow=1.5), dict(colour_jitter=-0.1), dict(blur=2.0), dict(noise=-1.0)):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            TrayConfig(**bad)
