"""tools/check_dataset.py reports every problem of a folder in one pass, grouped by kind with
counts, and exits non-zero when anything is fatal; symlinks inside the image folder work."""
import os
import subprocess
import sys
from pathlib import Path

from data_helpers import break_image, write_coco, write_image

REPO = Path(__file__).resolve().parents[2]


def run_checker(*args):
    p = subprocess.run([sys.executable, str(REPO / "tools" / "check_dataset.py"), *map(str, args)],
                       capture_output=True, text=True, timeout=120, cwd="/")  # cwd: the path line must work
    return p.returncode, p.stdout + p.stderr


def bad_folder(tmp_path):
    """A COCO set with one of nearly everything that can go wrong (and a good symlink)."""
    img = tmp_path / "img"
    for name in ("ok.jpg", "mismatch.jpg", "corrupt.jpg", "empty.jpg", "boxes.jpg"):
        write_image(img / name, 40, 30)
    write_image(tmp_path / "pool" / "linked.jpg", 40, 30)
    os.symlink(tmp_path / "pool" / "linked.jpg", img / "linked.jpg")       # allowed: resolves to a readable file
    os.symlink(tmp_path / "pool" / "gone.jpg", img / "dangling.jpg")       # broken symlink
    write_image(tmp_path / "outside.jpg", 40, 30)
    break_image(img / "corrupt.jpg", "corrupt-jpeg")
    break_image(img / "empty.jpg", "zero-byte")
    files = ["ok.jpg", "linked.jpg", "dangling.jpg", "missing.jpg", "mismatch.jpg", "corrupt.jpg",
             "empty.jpg", "../outside.jpg", "boxes.jpg"]
    images = [dict(id=10**15 + k, file_name=f, width=40, height=30) for k, f in enumerate(files)]
    images[4].update(width=30, height=40)  # mismatch.jpg: annotated the other way round
    box = dict(category_id=1, bbox=[1, 1, 5, 5])
    anns = [dict(id=k + 1, image_id=img_["id"], **box) for k, img_ in enumerate(images)]
    anns += [dict(id=20, image_id=10**15 + 8, category_id=1, bbox=[35, 25, 10, 10]),   # clipped
             dict(id=21, image_id=10**15 + 8, category_id=1, bbox=[50, 50, 5, 5]),     # wholly outside
             dict(id=22, image_id=10**15 + 8, category_id=1, bbox=[5, 5, 0, 4]),       # zero width
             dict(id=23, image_id=10**15 + 8, category_id=9, bbox=[1, 1, 5, 5]),       # unknown category
             dict(id=24, image_id=42, category_id=1, bbox=[1, 1, 5, 5]),               # unlisted image
             dict(id=24, image_id=10**15, category_id=1, bbox=[1, 1, 5, 5])]           # duplicate id
    return write_coco(tmp_path / "ann.json", images, anns, [dict(id=1, name="one")]), img


def test_every_problem_in_one_pass(tmp_path):
    ann, img = bad_folder(tmp_path)
    rc, out = run_checker("--kind", "coco", "--ann-file", ann, "--img-dir", img)
    assert rc == 1, out
    for group in ("[FATAL] unknown category: 1", "[FATAL] duplicate annotation id: 1",
                  "[skipped image] image file not found: 1", "[skipped image] broken symlink: 1",
                  "[skipped image] size mismatch: 1", "[skipped image] unreadable image: 1",
                  "[skipped image] unreadable image (full decode): 1",
                  "[skipped image] file_name outside the image folder: 1",
                  "[dropped object] bad box: 1", "[dropped object] box outside the image: 1",
                  "[dropped object] annotation of an unlisted image: 1",
                  "[clipped box] box partly outside the image: 1"):
        assert group in out, (group, out)
    assert "dangling.jpg: is a symlink to" in out and "which does not exist" in out
    assert "annotation says 30x40 (WxH) but the image is 40x30" in out
    assert "linked.jpg" not in out  # a good symlink is just an image
    assert "images: 3 usable of 9 listed" in out and "unusable images (missing, unreadable, size mismatch): 6 of 9" in out
    assert "RESULT: FAILED" in out and "2 fatal problem(s)" in out and "6 of 9 images unusable" in out


def test_empty_image_folder_fails(tmp_path):
    (tmp_path / "img").mkdir()
    ann = write_coco(tmp_path / "ann.json", [dict(id=k, file_name=f"{k}.jpg") for k in range(1, 4)], [],
                     [dict(id=1, name="one")])
    rc, out = run_checker("--kind", "coco", "--ann-file", ann, "--img-dir", tmp_path / "img", "--max-bad-images", "5")
    assert rc == 1 and "no usable images (0 of 3 listed)" in out, out


def test_fraction_of_bad_images(tmp_path):
    from hl_detect.data import COCODetection, check_dataset
    for k in range(1, 5):
        write_image(tmp_path / "img" / f"{k}.jpg", 20, 20)
    images = [dict(id=k, file_name=f"{k}.jpg") for k in range(1, 6)]  # 5.jpg is missing: 1 of 5 bad
    ann = write_coco(tmp_path / "ann.json", images, [], [dict(id=1, name="one")])
    ds = COCODetection(ann, tmp_path / "img", train=False, collect_fatal=True)
    assert not check_dataset(ds, max_bad_images=0.1).ok      # 10 % of 5 -> 0 allowed
    assert check_dataset(ds, max_bad_images=0.2).ok          # 20 % of 5 -> 1 allowed
    assert check_dataset(ds, max_bad_images=1).ok
    assert not check_dataset(ds, max_bad_images=1, strict=True).ok
