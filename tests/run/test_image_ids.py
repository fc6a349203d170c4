"""predict's COCO results image ids: an annotation file's (by the end of the path), else the
numbers in the file names, else 1..N."""
import json

import pytest

from hl_detect.data.checks import DatasetError
from hl_detect.run.image_ids import annotated_ids, numbered_ids


def test_numbers_in_file_names_else_the_order_listed(tmp_path):
    ids = numbered_ids([tmp_path / "000009.jpg", tmp_path / "a" / "12.png"])
    assert ids == ([9, 12], "the numbers in the file names")
    ids, rule = numbered_ids([tmp_path / "cam1" / "0001.jpg", tmp_path / "cam2" / "0001.jpg", tmp_path / "x.jpg"])
    assert ids == [1, 2, 3] and "1..N" in rule  # two 0001s: their numbers would collide


def test_an_annotation_files_ids_by_the_end_of_the_path(tmp_path):
    ann = tmp_path / "instances.json"
    images = [{"id": 2**53 + 1, "file_name": "JPEGImages/000009.jpg"}, {"id": 5, "file_name": "000009.jpg"},
              {"id": 7, "file_name": "b/0001.jpg"}, {"id": 8, "file_name": "c/0001.jpg"}]
    ann.write_text(json.dumps({"images": images, "annotations": [], "categories": []}))
    found = annotated_ids([tmp_path / "data" / "JPEGImages" / "000009.jpg", tmp_path / "000009.jpg",
                           tmp_path / "b" / "0001.jpg"], ann)
    assert found == [2**53 + 1, 5, 7]  # the longest file_name that matches wins
    with pytest.raises(DatasetError, match="lists no image whose file_name .*a/0001.jpg") as error:
        annotated_ids([tmp_path / "a" / "0001.jpg"], ann)
    assert str(ann) in str(error.value)
    ann.write_text(json.dumps({"images": images + [{"id": 9, "file_name": "b/0001.jpg"}], "annotations": [],
                               "categories": []}))
    with pytest.raises(DatasetError, match=r"several images \(ids \[7, 9\]\)"):
        annotated_ids([tmp_path / "b" / "0001.jpg"], ann)


def test_predict_refuses_image_ids_without_coco_results(tmp_path, capsys):
    from hl_detect.run.commands.predict import cli

    (tmp_path / "000001.jpg").write_bytes(b"")
    with pytest.raises(SystemExit) as stop:
        cli([str(tmp_path / "run"), str(tmp_path / "000001.jpg"), "--image-ids", str(tmp_path / "a.json")])
    assert stop.value.code == 2 and "--image-ids only sets the ids of --coco-results" in capsys.readouterr().err
