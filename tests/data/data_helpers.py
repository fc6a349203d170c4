"""Writers of tiny on-disk fixtures for the data tests (each test writes into its tmp_path).
Imported as `data_helpers` (unique basename: tests/ has no __init__.py files)."""
import json
from pathlib import Path

import numpy as np
from PIL import Image


def write_image(path, width, height, mode="RGB", value=128, fmt=None):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode in ("RGB", "CMYK", "RGBA"):
        arr = np.full((height, width, len(mode)), value, np.uint8)
        img = Image.fromarray(arr[:, :, :3]).convert(mode) if mode != "RGB" else Image.fromarray(arr)
    else:
        img = Image.new(mode, (width, height), value)
    img.save(path, format=fmt)
    return path


def voc_object(name, xmin, ymin, xmax, ymax, difficult=0):
    return (f"<object><name>{name}</name><difficult>{difficult}</difficult><bndbox>"
            f"<xmin>{xmin}</xmin><ymin>{ymin}</ymin><xmax>{xmax}</xmax><ymax>{ymax}</ymax>"
            f"</bndbox></object>")


def write_voc_entry(voc_dir, name, width, height, objects, image=True):
    """objects: strings from voc_object(); writes the XML and (optionally) a JPEG."""
    voc_dir = Path(voc_dir)
    (voc_dir / "Annotations").mkdir(parents=True, exist_ok=True)
    (voc_dir / "Annotations" / f"{name}.xml").write_text(
        f"<annotation><filename>{name}.jpg</filename><size><width>{width}</width>"
        f"<height>{height}</height><depth>3</depth></size>{''.join(objects)}</annotation>")
    if image:
        write_image(voc_dir / "JPEGImages" / f"{name}.jpg", width, height)


def write_split(voc_dir, split, names):
    d = Path(voc_dir) / "ImageSets" / "Main"
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{split}.txt").write_text("".join(n + "\n" for n in names))


def write_coco(path, images, annotations, categories):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(dict(images=images, annotations=annotations,
                                          categories=categories)))
    return Path(path)


def break_image(path, how):
    """Damage an image file in place so its header still reads (except "zero-byte"):
    "corrupt-jpeg": headers kept, scan data replaced by zeros (PIL: cannot load this image);
    "truncated-png": the second half cut off; "zero-byte": an empty file."""
    path = Path(path)
    if how == "zero-byte":
        path.write_bytes(b"")
        return path
    img = Image.open(path).convert("RGB")
    buf = __import__("io").BytesIO()
    if how == "corrupt-jpeg":
        img.save(buf, format="JPEG")
        data = buf.getvalue()
        data = data[: data.index(b"\xff\xda")] + b"\x00" * 200
    elif how == "truncated-png":
        img.save(buf, format="PNG")
        data = buf.getvalue()[: len(buf.getvalue()) // 2]
    else:
        raise ValueError(how)
    path.write_bytes(data)
    return path
