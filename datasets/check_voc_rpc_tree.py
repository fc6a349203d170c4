"""Check a downloaded Pascal VOC and/or RPC tree: file counts per split, and exactly what is
missing. Standard library only, so it runs before anything else is installed.

  python datasets/check_voc_rpc_tree.py --voc datasets/VOCdevkit --count-objects
  python datasets/check_voc_rpc_tree.py --rpc datasets/retail_product_checkout

Exit code 1 when something is missing or a count differs from the official one.
"""
from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

# (folder, image set) -> images in the official release
VOC_COUNTS = {("VOC2007", "trainval"): 5011, ("VOC2007", "test"): 4952,
              ("VOC2012", "trainval"): 11540}
VOC0712_TRAIN = 16551
VOC07_TEST_OBJECTS = (14976, 12032)  # all, not difficult
# original RPC release (200 SKUs); a 113-class variant has other counts, reported only
RPC_COUNTS = {"train": 53739, "val": 6000, "test": 24000}


def _missing(paths, what, problems, show=5):
    gone = [p for p in paths if not p.is_file()]
    if gone:
        names = ", ".join(p.name for p in gone[:show]) + (" ..." if len(gone) > show else "")
        problems.append(f"{len(gone)} {what} missing in {gone[0].parent}: {names}")


def check_voc(root: Path, count_objects: bool = False):
    problems, info = [], []
    total_train = 0
    for (folder, image_set), expected in VOC_COUNTS.items():
        d = root / folder
        split = d / "ImageSets" / "Main" / f"{image_set}.txt"
        if not split.is_file():
            problems.append(f"{split} missing ({folder} {image_set}: {expected} images expected)")
            continue
        ids = [ln.split()[0] for ln in split.read_text().splitlines() if ln.strip()]
        info.append(f"{folder} {image_set}: {len(ids)} images listed (official: {expected})")
        if len(ids) != expected:
            problems.append(f"{split} lists {len(ids)} images, the official split has {expected}")
        if image_set == "trainval":
            total_train += len(ids)
        _missing([d / "JPEGImages" / f"{i}.jpg" for i in ids], "images", problems)
        _missing([d / "Annotations" / f"{i}.xml" for i in ids], "annotations", problems)
        if count_objects and (folder, image_set) == ("VOC2007", "test"):
            n = nd = 0
            for i in ids:
                try:
                    for obj in ET.parse(d / "Annotations" / f"{i}.xml").getroot().iter("object"):
                        n += 1
                        nd += (obj.findtext("difficult") or "0").strip() != "1"
                except (OSError, ET.ParseError):
                    problems.append(f"{d / 'Annotations' / f'{i}.xml'} unreadable")
            info.append(f"VOC2007 test objects: {n}, not difficult: {nd} "
                        f"(official: {VOC07_TEST_OBJECTS[0]}, {VOC07_TEST_OBJECTS[1]})")
            if (n, nd) != VOC07_TEST_OBJECTS:
                problems.append(f"VOC2007 test has {n} objects / {nd} not difficult, official "
                                f"{VOC07_TEST_OBJECTS[0]} / {VOC07_TEST_OBJECTS[1]}")
    info.append(f"voc0712 train: {total_train} images (official: {VOC0712_TRAIN})")
    return problems, info


def check_rpc(root: Path):
    problems, info = [], []
    for split, official in RPC_COUNTS.items():
        ann, img_dir = root / f"instances_{split}2019.json", root / f"{split}2019"
        if not ann.is_file():
            problems.append(f"{ann} missing")
            continue
        if not img_dir.is_dir():
            problems.append(f"{img_dir}/ missing")
            continue
        try:
            data = json.loads(ann.read_text())
            images, cats = data["images"], data["categories"]
        except (ValueError, KeyError, TypeError) as e:
            problems.append(f"{ann} is not a readable COCO file ({e})")
            continue
        info.append(f"RPC {split}: {len(images)} images, {len(cats)} categories, "
                    f"{len(data.get('annotations', []))} boxes (original release: {official} images, 200 categories)")
        _missing([img_dir / str(im.get("file_name", "")) for im in images], "images", problems)
    return problems, info


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--voc", type=Path, help="the VOCdevkit folder")
    p.add_argument("--rpc", type=Path, help="the RPC folder with instances_*2019.json")
    p.add_argument("--count-objects", action="store_true", help="also count VOC07 test objects")
    args = p.parse_args(argv)
    if not args.voc and not args.rpc:
        p.error("give --voc and/or --rpc")
    problems, info = [], []
    if args.voc:
        pr, inf = check_voc(args.voc, args.count_objects)
        problems += pr; info += inf
    if args.rpc:
        pr, inf = check_rpc(args.rpc)
        problems += pr; info += inf
    print("\n".join(info))
    for line in problems:
        print("MISSING/WRONG:", line)
    print("RESULT:", "OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
