"""Pictures of detections: boxes with "class score" labels drawn on the image.

``draw_ground_truth`` adds the annotated boxes in white with a black rim (no class colour is
white, and the rim keeps them visible on light images), e.g. for TensorBoard's image tab."""
from __future__ import annotations

import colorsys
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import torch
from PIL import Image, ImageDraw


def class_color(label: int) -> tuple[int, int, int]:
    """A stable, well-spread colour per class (golden-ratio hue steps)."""
    r, g, b = colorsys.hsv_to_rgb((label * 0.618033988749895) % 1.0, 0.85, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


def to_pil(image: Union[torch.Tensor, np.ndarray, Image.Image]) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if torch.is_tensor(image):  # [3, H, W] float in [0, 1]
        image = (image.detach().cpu().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    return Image.fromarray(np.asarray(image, dtype=np.uint8)).convert("RGB")


def draw_detections(
    image,
    prediction: dict,
    class_names: Sequence[str],
    score_threshold: float = 0.5,
) -> Image.Image:
    """Draw boxes with score >= threshold; label k is class_names[k - 1]."""
    picture = to_pil(image).copy()
    draw = ImageDraw.Draw(picture)
    boxes = prediction["boxes"].detach().cpu().tolist()
    scores = prediction["scores"].detach().cpu().tolist()
    labels = prediction["labels"].detach().cpu().tolist()
    for box, score, label in zip(boxes, scores, labels):
        if score < score_threshold:
            continue
        color = class_color(label)
        name = class_names[label - 1] if 0 < label <= len(class_names) else str(label)
        draw.rectangle(box, outline=color, width=2)
        text = f"{name} {score:.2f}"
        left, top = box[0], max(0.0, box[1] - 11)
        bbox = draw.textbbox((left, top), text)
        draw.rectangle(bbox, fill=color)
        draw.text((left, top), text, fill=(0, 0, 0))
    return picture


GROUND_TRUTH_COLOR = (255, 255, 255)


def draw_ground_truth(picture: Image.Image, boxes, width: int = 1) -> Image.Image:
    """Draw ground-truth boxes (xyxy, the picture's pixels) on ``picture`` in place; returns it."""
    draw = ImageDraw.Draw(picture)
    for box in torch.as_tensor(boxes).reshape(-1, 4).tolist():
        x0, y0, x1, y1 = box
        draw.rectangle((x0 - 1, y0 - 1, x1 + 1, y1 + 1), outline=(0, 0, 0), width=1)
        draw.rectangle(box, outline=GROUND_TRUTH_COLOR, width=width)
    return picture


def save_picture(picture: Image.Image, path: Union[str, Path]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path)
    return path
