"""Upright alignment of cut-outs (exemplar_pool.product_axes, TrayConfig.align): a product the
turntable turned is stood upright before the tray's own rotation; checked on rotated
rectangles whose true long side and angle are known."""
import cv2
import numpy as np
import pytest

from hl_detect.data.exemplar_pool import Entry, ExemplarPool, Sprite, product_axes
from hl_detect.data.tray_synthesis import TrayConfig, compose_tray
from hl_detect.errors import ConfigError

LONG, SHORT = 60, 24
EXACT = dict(tray_size=(160, 160), camera_scale=1.0, scale_jitter=(1, 1), product_jitter=0.0, rotation=0.0,
             shadow=0.0, colour_jitter=0.0, blur=0.0, noise=0.0, background="plain", placement_tries=1,
             min_products=1, max_products=1)
TOP, BODY = (250, 20, 20), (20, 40, 230)


def turned_product(angle: float, size: int = 100):
    """RGB [size, size] on white: a LONG x SHORT upright rectangle (its top fifth red, the rest
    blue) turned counter-clockwise by `angle` degrees; and its mask."""
    image = np.full((size, size, 3), 255, np.uint8)
    c = size / 2
    image[int(c - LONG / 2):int(c + LONG / 2), int(c - SHORT / 2):int(c + SHORT / 2)] = BODY
    image[int(c - LONG / 2):int(c - LONG / 2 + LONG / 5), int(c - SHORT / 2):int(c + SHORT / 2)] = TOP
    m = cv2.getRotationMatrix2D((c, c), angle, 1.0)
    image = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_NEAREST, borderValue=(255, 255, 255))
    return image, (image != 255).any(axis=2)


def sprite_of(image, mask) -> Sprite:
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    rgba = np.dstack([image[y0:y1, x0:x1], np.where(mask[y0:y1, x0:x1], 255, 0).astype(np.uint8)])
    angle, long_side = product_axes(mask[y0:y1, x0:x1])
    return Sprite(np.ascontiguousarray(rgba), 1, 1, 1.0, angle, long_side)


class OnePool:
    def __init__(self, sprite):
        self.one = sprite

    def __len__(self):
        return 1

    def sprite(self, k):
        return self.one

    def median_long_side(self, aligned=False):
        return float(self.one.long_side if aligned else max(self.one.rgba.shape[:2]))


@pytest.mark.parametrize("angle", [0, 17, 45, 73, 90, 128, -35, 179])
def test_product_axes_finds_the_long_side_and_the_turn_back(angle):
    _, mask = turned_product(angle)
    back, long_side = product_axes(mask)
    assert abs(long_side - LONG) <= 3
    assert -90 <= back < 90
    # turning by `back` undoes `angle` up to a half turn (which end is up is unknown)
    residual = (angle + back) % 180
    assert min(residual, 180 - residual) <= 3, (angle, back)


@pytest.mark.parametrize("angle", [30, 62, 115, -50])
def test_align_upright_pastes_the_product_standing(angle):
    pool = OnePool(sprite_of(*turned_product(angle)))
    kept = compose_tray(np.random.default_rng(0), pool, TrayConfig(align="none", **EXACT))
    stood = compose_tray(np.random.default_rng(0), pool, TrayConfig(align="upright", upside_down=0.0, **EXACT))
    (x0, y0, x1, y1), = stood.boxes.tolist()
    assert abs((y1 - y0) - LONG) <= 4 and abs((x1 - x0) - SHORT) <= 4  # tight: upright
    (a0, b0, a1, b1), = kept.boxes.tolist()
    assert (a1 - a0) * (b1 - b0) > 1.3 * (x1 - x0) * (y1 - y0)  # as turned: a looser box


def test_upside_down_turns_the_product_half_way():
    pool = OnePool(sprite_of(*turned_product(40)))
    rows = {}
    for p in (0.0, 1.0):
        tray = compose_tray(np.random.default_rng(3), pool, TrayConfig(align="upright", upside_down=p, **EXACT))
        x0, y0, x1, y1 = (int(v) for v in tray.boxes[0])
        red = (np.abs(tray.image[y0:y1, x0:x1].astype(int) - TOP).sum(axis=2) < 60).any(axis=1)
        rows[p] = np.nonzero(red)[0].mean() / (y1 - y0)  # where the red end sits, 0 top .. 1 bottom
    assert {rows[0.0] < 0.3, rows[1.0] > 0.7} == {True}  # one way up, then the other
    # which one: a turn back within +-90 degrees from 40 leaves the red end on top
    assert rows[0.0] < 0.3


def test_aligned_camera_scale_uses_the_products_own_long_side(tmp_path):
    entries = []
    for k, angle in enumerate([0, 20, 22, 25, 30]):
        image, mask = turned_product(angle)
        path = tmp_path / f"{k}.png"
        cv2.imwrite(str(path), image[..., ::-1])
        ys, xs = np.nonzero(mask)
        entries.append(Entry(path, (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1), 1, 1))
    pool = ExemplarPool(entries)
    assert pool.median_long_side() > 1.05 * LONG  # turned boxes are longer than the product (~8 % here)
    assert abs(pool.median_long_side(aligned=True) - LONG) <= 3
    assert pool.sprite(1).long_side == pytest.approx(LONG, abs=3)


def test_bad_align_settings_are_config_errors():
    with pytest.raises(ConfigError, match="align"):
        TrayConfig(align="sideways")
    with pytest.raises(ConfigError, match="upside_down"):
        TrayConfig(upside_down=1.5)
    assert TrayConfig.from_options({"align": "upright"}).align == "upright"


def two_tone_sprite(h=30, w=40, soft=True) -> Sprite:
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[:, : w // 2, :3], rgba[:, w // 2:, :3] = (40, 60, 200), (230, 200, 60)
    if soft:  # the edge between the halves softened, as resampling leaves it
        rgba[..., :3] = cv2.GaussianBlur(rgba[..., :3], (0, 0), 1.5)
    return Sprite(rgba, 1, 1, 1.0, 0.0, float(w))


def test_sharpen_restores_edges_inside_the_product_only():
    pool = OnePool(two_tone_sprite())
    soft = compose_tray(np.random.default_rng(5), pool, TrayConfig(**EXACT))
    sharp = compose_tray(np.random.default_rng(5), pool, TrayConfig(sharpen=2.0, **EXACT))
    np.testing.assert_array_equal(soft.boxes, sharp.boxes)  # no extra draws: the same tray
    x0, y0, x1, y1 = (int(v) for v in soft.boxes[0])
    outside = np.ones(soft.image.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    np.testing.assert_array_equal(soft.image[outside], sharp.image[outside])
    row = (y0 + y1) // 2
    step = lambda im: np.abs(np.diff(im[row, x0:x1].astype(int), axis=0)).sum(axis=1).max()
    assert step(sharp.image) > 1.25 * step(soft.image)  # the steepest step inside the product


def test_sharpen_leaves_a_flat_product_flat():
    sprite = two_tone_sprite(soft=False)
    sprite.rgba[..., :3] = (120, 40, 170)  # one colour: nothing to sharpen, and no halo at its edge
    pool = OnePool(sprite)
    plain = compose_tray(np.random.default_rng(2), pool, TrayConfig(**EXACT))
    sharp = compose_tray(np.random.default_rng(2), pool, TrayConfig(sharpen=3.0, **EXACT))
    assert np.abs(plain.image.astype(int) - sharp.image.astype(int)).max() <= 1
    with pytest.raises(ConfigError, match="sharpen"):
        TrayConfig(sharpen=-1)


def test_extra_tray_sizes_are_drawn_per_tray():
    pool = OnePool(two_tone_sprite())
    config = TrayConfig(**{**EXACT, "tray_size": (60, 80)}, extra_tray_sizes=[(80, 80), 50])
    assert config.sizes() == [(60, 80), (80, 80), (50, 50)]
    shapes = {compose_tray(np.random.default_rng(s), pool, config).image.shape[:2] for s in range(30)}
    assert shapes == {(60, 80), (80, 80), (50, 50)}
    assert "extra_tray_sizes" not in TrayConfig().as_dict()
    assert config.as_dict()["extra_tray_sizes"] == [[80, 80], [50, 50]]
    with pytest.raises(ConfigError, match="extra_tray_sizes"):
        TrayConfig(extra_tray_sizes=[(10, 80)])
