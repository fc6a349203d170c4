"""One PNG a person can read: the tray with its counted items boxed and named, and the receipt
printed beside it.

- Small images are enlarged (``picture_scale``: at least 2x below 800 px on the long side,
  so a 288 x 216 tray is drawn at 864 x 648) before anything is drawn, so lines and text
  stay sharp.
- Every counted item gets its box in its product's colour and a "product score" label
  outside the box (label_layout.py), over a margin around the image so labels of boxes at
  the edge have room. Colours are given per picture (``product_colors``), evenly spread over
  the hues for the products on this tray: a fixed colour per class cannot keep 113 classes
  apart, and two products of one tray must never share a colour.
- The receipt (receipt.receipt_lines) is printed on the right, with each product line
  behind a swatch of the product's colour.
Boxes come from the receipt itself (its per-item detections, original image pixels), so the
picture shows exactly what was counted.
"""
from __future__ import annotations

import colorsys
import math
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from .label_layout import place_labels
from .receipt import receipt_lines
from ..visualize import to_pil

MIN_LONG_SIDE = 800  # images smaller than this are enlarged (>= 2x) before drawing
LABEL_SIZE, RECEIPT_SIZE = 15, 16
BACKGROUND, PANEL = (236, 236, 236), (255, 255, 255)


def picture_scale(width: int, height: int) -> int:
    long_side = max(width, height)
    return 1 if long_side >= MIN_LONG_SIDE else max(2, math.ceil(MIN_LONG_SIDE / long_side))


@lru_cache(maxsize=8)
def _font(size: int, mono: bool):
    for name in (("DejaVuSansMono.ttf",) if mono else ("DejaVuSans.ttf",)):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            pass
    return ImageFont.load_default(size=size)  # Pillow's own font: always there


def distinct_colors(n: int) -> list[tuple[int, int, int]]:
    """n colours, hues evenly spread; above 8, two brightness levels so hues stay 2/n apart."""
    hues = n if n <= 8 else math.ceil(n / 2)
    colors = []
    for i in range(n):
        r, g, b = colorsys.hsv_to_rgb((i % hues) / max(hues, 1), 0.85, 1.0 if i < hues else 0.6)
        colors.append((int(r * 255), int(g * 255), int(b * 255)))
    return colors


def product_colors(receipt: dict) -> dict[int, tuple[int, int, int]]:
    """{label: colour} for the products on this receipt, in label order."""
    labels = sorted({int(item["label"]) for item in receipt["items"]})
    return dict(zip(labels, distinct_colors(len(labels))))


def _text_size(font, text: str) -> tuple[int, int]:
    left, top, right, bottom = font.getbbox(text)
    return right - left, bottom - top


def _ink(color) -> tuple[int, int, int]:
    """Black on light colours, white on dark ones (ITU-R BT.601 luma)."""
    return (0, 0, 0) if 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2] > 140 else (255, 255, 255)


def _counted(receipt: dict):
    """(box, score, label, product) of every counted item, highest score first."""
    rows = [(d["box_xyxy"], d["score"], item["label"], item["product"])
            for item in receipt["items"] for d in item.get("detections", [])]
    return sorted(rows, key=lambda r: -r[1])


def _settings_lines(receipt: dict) -> list[str]:
    thr = receipt.get("score_threshold")
    thr = "per class" if isinstance(thr, list) else f"{thr:.2f}"
    rule = receipt.get("count_rule", "per_class")
    if rule == "agnostic":
        rule += f" (IoU > {receipt.get('agnostic_iou')})"
    return [f"score >= {thr}, count rule {rule}"]


def render_receipt_picture(image, receipt: dict) -> Image.Image:
    """The picture with its receipt; ``image`` uint8 [H, W, 3] (or PIL) in original pixels."""
    source = to_pil(image)
    scale = picture_scale(*source.size)
    pic = source.resize((source.width * scale, source.height * scale), Image.LANCZOS)
    label_font, receipt_font = _font(LABEL_SIZE, False), _font(RECEIPT_SIZE, True)
    pad = 3
    label_h = _text_size(label_font, "Ag")[1] + 2 * pad
    margin = label_h + 8

    items = _counted(receipt)
    colors = product_colors(receipt)
    boxes = [tuple(margin + v * scale for v in box) for box, *_ in items]
    texts = [f"{product} {score:.2f}" for _, score, _, product in items]
    sizes = [(_text_size(label_font, t)[0] + 2 * pad, label_h) for t in texts]

    lines = receipt_lines(receipt)
    lines[1:1] = _settings_lines(receipt)
    line_h = _text_size(receipt_font, "Ag")[1] + 8
    swatch = line_h - 8
    panel_w = max(_text_size(receipt_font, line)[0] for line in lines) + swatch + 48
    pic_w, pic_h = pic.width + 2 * margin, pic.height + 2 * margin
    canvas = Image.new("RGB", (pic_w + panel_w, max(pic_h, len(lines) * line_h + 40)), BACKGROUND)
    canvas.paste(pic, (margin, margin))
    draw = ImageDraw.Draw(canvas)
    labels = place_labels(boxes, sizes, (pic_w, pic_h))
    for (box, score, label, product), rect, text in zip(items, labels, texts):
        draw.rectangle(tuple(margin + v * scale for v in box), outline=colors[label], width=3)
    for (box, score, label, product), rect, text in zip(items, labels, texts):  # labels over every box
        color = colors[label]
        draw.rectangle(rect, fill=color, outline=(40, 40, 40))
        draw.text((rect[0] + pad, rect[1] + pad), text, fill=_ink(color), font=label_font, anchor="lt")

    x0 = pic_w
    draw.rectangle((x0, 0, canvas.width - 1, canvas.height - 1), fill=PANEL)
    by_product = {item["product"]: item["label"] for item in receipt["items"]}
    y = 20
    for line in lines:
        product = line.split(" x  ", 1)[1] if " x  " in line else None
        if product in by_product:
            draw.rectangle((x0 + 16, y + 1, x0 + 16 + swatch, y + 1 + swatch), fill=colors[by_product[product]],
                           outline=(40, 40, 40))
        draw.text((x0 + 24 + swatch, y), line, fill=(0, 0, 0), font=receipt_font, anchor="lt")
        y += line_h
    return canvas


def save_receipt_picture(picture: Image.Image, path, fmt: str = "png") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "jpg":
        picture.save(path, format="JPEG", quality=92)
    else:
        picture.save(path, format="PNG")
