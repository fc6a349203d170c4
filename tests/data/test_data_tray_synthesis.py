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
