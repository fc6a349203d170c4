"""A dataset's categories map onto a model's by COCO id (by name for VOC), in both directions:
a category the test file lacks is fine, one the model lacks is an error (or dropped and
counted when asked). Checked against the JSON itself: every object's label must name the
category its annotation names."""
import pytest

from data_helpers import voc_object, write_coco, write_image, write_split, write_voc_entry
from hl_detect.data import COCODetection, DatasetError, VOCDetection
from hl_detect.data.categories import from_coco, make_categories

# training categories: unsorted, non-contiguous ids, with supercategories (RPC-like)
TRAIN_CATS = [dict(id=103, name="103_drink", supercategory="drink"),
              dict(id=7, name="7_puffed", supercategory="food"),
              dict(id=77, name="77_dessert", supercategory="food")]


def coco_set(tmp_path, name, cats, anns_by_image):
    """anns_by_image: {file: [category ids]}; one 10x10 box per object, images 64x48."""
    images, anns = [], []
    for k, (file, cat_ids) in enumerate(anns_by_image.items(), start=1):
        write_image(tmp_path / "img" / file, 64, 48)
        images.append(dict(id=k, file_name=file))  # no width/height: read from the header
        anns += [dict(id=len(anns) + j + 1, image_id=k, category_id=c, bbox=[2.0 * j, 3.0, 10.0, 10.0], iscrowd=0)
                 for j, c in enumerate(cat_ids)]
    return write_coco(tmp_path / f"{name}.json", images, anns, cats)


def names_by_json(path):
    """(image id -> category names of its objects), read from the file directly."""
    import json
    data = json.loads(path.read_text())
    cat_name = {c["id"]: c["name"] for c in data["categories"]}
    out = {}
    for a in data["annotations"]:
        out.setdefault(a["image_id"], []).append(cat_name[a["category_id"]])
    return out


def test_training_file_defines_labels_in_id_order(tmp_path):
    ann = coco_set(tmp_path, "train", TRAIN_CATS, {"a.jpg": [103, 7], "b.jpg": [77]})
    ds = COCODetection(ann, tmp_path / "img", train=True)
    assert [c["id"] for c in ds.categories] == [7, 77, 103]
    assert ds.categories[2] == {"id": 103, "name": "103_drink", "supercategory": "drink"}
    assert ds.classes == ["7_puffed", "77_dessert", "103_drink"]


def test_test_file_lacking_a_category_keeps_every_label(tmp_path):
    model = from_coco(TRAIN_CATS)
    # the test file lists only 103 and 77: numbered on its own, 77 would become label 1
    ann = coco_set(tmp_path, "test", [TRAIN_CATS[0], TRAIN_CATS[2]],
                   {"a.jpg": [103, 77, 103], "b.jpg": [77]})
    ds = COCODetection(ann, tmp_path / "img", train=False, model_categories=model)
    expected = names_by_json(ann)
    for i in range(len(ds)):
        _, t = ds[i]
        got = [model[label - 1]["name"] for label in t["labels"].tolist()]
        assert got == expected[t["image_id"]]
    assert ds.classes == [c["name"] for c in model] and not ds.skipped.entries


def test_category_the_model_lacks_is_an_error_naming_file_and_category(tmp_path):
    model = from_coco(TRAIN_CATS)
    extra = dict(id=5, name="5_gum", supercategory="food")
    other = dict(id=6, name="6_tissue")
    ann = coco_set(tmp_path, "test", TRAIN_CATS + [extra, other],
                   {"a.jpg": [5, 103, 5], "b.jpg": [6, 77]})
    with pytest.raises(DatasetError) as e:
        COCODetection(ann, tmp_path / "img", train=False, model_categories=model)
    text = str(e.value)
    assert "test.json" in text and "id 5 '5_gum' (2 objects)" in text and "id 6 '6_tissue' (1 objects)" in text
    ds = COCODetection(ann, tmp_path / "img", train=False, model_categories=model, ignore_unknown_categories=True)
    assert ds.ignored_categories == {"id 5 '5_gum'": 2, "id 6 '6_tissue'": 1}
    assert ds.skipped.counts() == {"dropped object": 3}
    expected = {k: [n for n in v if n in ds.classes] for k, v in names_by_json(ann).items()}
    for i in range(len(ds)):
        _, t = ds[i]
        assert [ds.classes[label - 1] for label in t["labels"].tolist()] == expected[t["image_id"]]


def test_category_listed_without_objects_is_not_an_error(tmp_path):
    """A full category table over a subset model (RPC's 200 SKUs, a 3-class model): nothing to mislabel."""
    model = from_coco(TRAIN_CATS)
    ann = coco_set(tmp_path, "test", TRAIN_CATS + [dict(id=5, name="5_gum", supercategory="food")],
                   {"a.jpg": [103, 7], "b.jpg": [77]})
    ds = COCODetection(ann, tmp_path / "img", train=False, model_categories=model)
    assert ds.classes == [c["name"] for c in model] and len(ds) == 2


def test_same_id_under_another_name_is_fatal(tmp_path):
    renamed = [dict(TRAIN_CATS[0], name="103_water")] + TRAIN_CATS[1:]
    ann = coco_set(tmp_path, "test", renamed, {"a.jpg": [103]})
    with pytest.raises(DatasetError, match=r"test\.json.*id 103 is '103_water' here but '103_drink' in the model"):
        COCODetection(ann, tmp_path / "img", train=False, model_categories=from_coco(TRAIN_CATS),
                      ignore_unknown_categories=True)


def test_model_without_ids_matches_by_name(tmp_path):
    model = make_categories(["77_dessert", "103_drink"])  # an old checkpoint: names only
    ann = coco_set(tmp_path, "test", TRAIN_CATS[::2], {"a.jpg": [77, 103]})
    ds = COCODetection(ann, tmp_path / "img", train=False, model_categories=model)
    assert ds[0][1]["labels"].tolist() == [1, 2]


def test_voc_matches_by_name_and_lists_every_unknown_class_at_once(tmp_path):
    write_voc_entry(tmp_path, "a", 50, 40, [voc_object("dog", 1, 1, 5, 5), voc_object("doggo", 1, 1, 5, 5)])
    write_voc_entry(tmp_path, "b", 50, 40, [voc_object("kitty", 1, 1, 5, 5), voc_object("doggo", 2, 2, 5, 5)])
    write_split(tmp_path, "s", ["a", "b"])
    model = make_categories(["cat", "dog"], ids=[17, 18])  # ids of a COCO-trained model: names decide for VOC
    with pytest.raises(DatasetError) as e:
        VOCDetection(tmp_path, "s", train=False, model_categories=model)
    text = str(e.value)
    assert "2 fatal problems" in text and "'doggo' in 2 object(s) of 2 file(s)" in text and "'kitty'" in text
    assert "a.xml" in text and "b.xml" in text
    ds = VOCDetection(tmp_path, "s", train=False, model_categories=model, ignore_unknown_categories=True)
    assert ds.ignored_categories == {"'doggo'": 2, "'kitty'": 1}
    assert ds[0][1]["labels"].tolist() == [2] and ds[1][1]["labels"].tolist() == []
