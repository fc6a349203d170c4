"""Writers for the two on-disk layouts (used by the synthetic generator and the tests).

Objects are given as (class name, xyxy box in 0-based continuous pixels, difficult).
VOC XML gets the devkit's 1-based inclusive integers; COCO JSON gets [x, y, w, h].
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from xml.sax.saxutils import escape

from .voc import xyxy_to_voc_box


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.2f}"


def voc_annotation_xml(filename: str, width: int, height: int, objects) -> str:
    parts = [f"<annotation><folder>VOC</folder><filename>{escape(filename)}</filename>",
             f"<size><width>{width}</width><height>{height}</height><depth>3</depth></size>"]
    for name, box, difficult in objects:
        xmin, ymin, xmax, ymax = (_num(v) for v in xyxy_to_voc_box(*box))
        parts.append(f"<object><name>{escape(name)}</name><pose>Unspecified</pose>"
                     f"<truncated>0</truncated><difficult>{int(bool(difficult))}</difficult>"
                     f"<bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin><xmax>{xmax}</xmax>"
                     f"<ymax>{ymax}</ymax></bndbox></object>")
    parts.append("</annotation>\n")
    return "\n".join(parts)


def write_voc_annotation(path, filename: str, width: int, height: int, objects) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(voc_annotation_xml(filename, width, height, objects))


def coco_dict(images, objects_per_image, classes) -> dict:
    """images: [(id, file_name, width, height)]; objects_per_image: [[(name, box, crowd)]]
    aligned with images; category ids are 1..C in `classes` order."""
    cat_id = {c: i + 1 for i, c in enumerate(classes)}
    anns, img_entries = [], []
    for (image_id, file_name, width, height), objects in zip(images, objects_per_image):
        img_entries.append(dict(id=image_id, file_name=file_name, width=width, height=height))
        for name, (x0, y0, x1, y1), crowd in objects:
            w, h = x1 - x0, y1 - y0
            anns.append(dict(id=len(anns) + 1, image_id=image_id, category_id=cat_id[name],
                             bbox=[x0, y0, w, h], area=w * h, iscrowd=int(bool(crowd))))
    return dict(images=img_entries, annotations=anns,
                categories=[dict(id=cat_id[c], name=c, supercategory="product") for c in classes])


def write_coco_json(path, data: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data))


def write_json_atomic(path, data) -> None:
    """Write JSON so a reader (or a resumed run) sees the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def save_image_atomic(image, path, **save_kw) -> None:
    """PIL image -> file, atomically (an interrupted write leaves no half image)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    image.save(tmp, **save_kw)
    os.replace(tmp, path)
