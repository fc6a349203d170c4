"""The receipt picture: labels outside the boxes they name, small images enlarged, the receipt
beside the tray in the product colours; output names that keep subfolders apart."""
import numpy as np
import pytest

from hl_detect.checkout.label_layout import overlap, place_labels
from hl_detect.output_names import relative_names
from hl_detect.checkout.picture import distinct_colors, picture_scale, product_colors, render_receipt_picture


def test_overlap_hand_worked():
    assert overlap((0, 0, 10, 10), (5, 5, 15, 15)) == 25
    assert overlap((0, 0, 10, 10), (10, 0, 20, 10)) == 0  # touching edges share no area


def test_labels_never_cover_their_own_box_and_stay_on_the_canvas():
    rng = np.random.default_rng(0)
    for _ in range(20):
        xy = rng.uniform(0, 300, (8, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(20, 120, (8, 2))], axis=1).clip(0, 400)
        sizes = [(rng.uniform(40, 160), 18.0) for _ in boxes]
        for box, rect in zip(boxes, place_labels(boxes, sizes, (400, 400))):
            grown = (box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1)  # the outline's pixels too
            assert overlap(rect, grown) == 0 or rect[:2] == (box[0], box[1])  # only the no-room fallback is inside
            assert 0 <= rect[0] and 0 <= rect[1] and rect[2] <= 400 and rect[3] <= 400


def test_labels_of_neighbours_do_not_collide_when_there_is_room():
    # two boxes side by side, 10 px apart, labels wider than the boxes: the second label
    # must not sit on the first (above-left would collide, so it goes elsewhere)
    boxes = [(50, 50, 100, 100), (110, 50, 160, 100)]
    rects = place_labels(boxes, [(90, 16), (90, 16)], (300, 300))
    assert rects[0] == (50, 32, 140, 48)  # above, left-aligned (gap 2)
    assert overlap(rects[0], rects[1]) == 0
    for box, rect in zip(boxes, rects):
        assert overlap(rect, box) == 0


def test_a_box_filling_the_canvas_gets_its_label_inside():
    assert place_labels([(0, 0, 100, 100)], [(30, 10)], (100, 100)) == [(0.0, 0.0, 30.0, 10.0)]


@pytest.mark.parametrize("size, scale", [((288, 216), 3), ((500, 375), 2), ((799, 600), 2), ((800, 600), 1),
                                         ((1920, 1080), 1)])
def test_small_images_are_drawn_at_least_twice_as_large(size, scale):
    assert picture_scale(*size) == scale


def _receipt(items):
    return {"image": "tray", "score_threshold": 0.5, "count_rule": "per_class", "total_items": len(items),
            "items": [{"label": label, "category_id": label, "product": f"p{label}", "supercategory": None,
                       "count": 1, "detections": [{"box_xyxy": box, "score": 0.9}]} for label, box in items]}


def test_picture_has_the_tray_enlarged_and_the_receipt_beside_it():
    image = np.full((90, 120, 3), 128, np.uint8)
    picture = render_receipt_picture(image, _receipt([(3, [10, 10, 50, 60]), (7, [60, 20, 110, 80])]))
    assert picture.width > 120 * 7 and picture.height >= 90 * 7  # 120 px wide -> drawn 7x (840 px)
    pixels = np.asarray(picture)
    colors = product_colors(_receipt([(3, [10, 10, 50, 60]), (7, [60, 20, 110, 80])]))
    for label in (3, 7):  # a swatch of each product's colour in the receipt panel, right of the tray
        found = np.argwhere((pixels == colors[label]).all(axis=2))
        assert len(found) and found[:, 1].max() > 120 * 7
    empty = render_receipt_picture(image, _receipt([]))
    assert empty.width > 120 * 7


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 20])
def test_products_of_one_tray_never_share_a_colour(n):
    colors = distinct_colors(n)
    assert len(set(colors)) == n
    # hand check: 4 products -> hues 0, 90, 180, 270 degrees at full brightness
    assert distinct_colors(4)[0] == (255, 38, 38) and distinct_colors(4)[2] == (38, 255, 255)


def test_relative_names_keep_cameras_apart(tmp_path):
    paths = [tmp_path / "cam1" / "0001.jpg", tmp_path / "cam2" / "0001.jpg", tmp_path / "cam2" / "sub" / "0002.png"]
    assert relative_names(paths) == ["cam1/0001", "cam2/0001", "cam2/sub/0002"]
    assert relative_names([tmp_path / "a" / "0001.jpg"]) == ["0001"]
    assert relative_names([tmp_path / "0001.jpg", tmp_path / "0001.png"]) == ["0001_jpg", "0001_png"]
    assert relative_names([]) == []
