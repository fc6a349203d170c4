"""A trained detector as a file other programs run: TorchScript or ONNX.

The model is first turned back into a stock torchvision one (``revert_to_torchvision``): the
hypersphere loss only shapes training, and its state (``roi_heads.cls_loss.*``: centers,
radius schedule) is no part of inference, so neither file carries it. A margin loss's
normalized classifier (CosFace, ArcFace, A-Softmax, and so cosface+hl) is part of inference,
so it stays: its logits are s * cos(theta), which no plain nn.Linear computes, and replacing
it would change every score. Such a model is stock torchvision but for ``cls_score``, which
has no bias.

Both files take what the PyTorch model takes, an RGB image as float32 [3, H, W] in [0, 1]
of any size, and return its detections in that image's pixels: boxes [D, 4] (x1, y1, x2, y2),
labels [D] (1..C, the model's categories in order), scores [D]. The model's own transform
normalizes and resizes inside.
  - TorchScript: ``torch.jit.load(path)(images)`` with a list of images; a scripted torchvision
    detector returns (losses, detections), detections a list of dicts as in PyTorch.
  - ONNX: one image per run, input "image", outputs "boxes", "labels", "scores".
"""
from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import torch
from torch import nn

from .atomic_files import output_file, write_atomic
from .convert import revert_to_torchvision
from .errors import ConfigError, UserError

FORMATS = ("onnx", "torchscript")
# torchvision's detection ops (RoIAlign, NMS) export from opset 11; 17 is what the tests run
ONNX_OPSET = 17


def check_format(fmt: str) -> str:
    """``fmt``, once it is known and this Python can write it (before any model is loaded)."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    if fmt == "onnx" and importlib.util.find_spec("onnx") is None:  # torch writes the file through it
        raise UserError("the ONNX export needs the onnx package, which is not installed",
                        hint="pip install onnx (and onnxruntime to run the file)")
    return fmt


def inference_model(model: nn.Module) -> nn.Module:
    """``model`` reverted to stock torchvision (in place; a margin loss's classifier kept, so the
    detections are the trained model's), on the CPU, in eval mode.

    The CPU, so the file runs on any machine; a TorchScript one can be moved with .to(device)."""
    model = revert_to_torchvision(model, keep_classifier=True).cpu().eval()
    left = [k for k in model.state_dict() if ".cls_loss." in f".{k}"]
    if left:  # a new loss that keeps state elsewhere would ship training state: say so, do not export it
        raise RuntimeError(f"revert_to_torchvision left loss state in the model: {left[:3]}")
    return model


def export_torchscript(model: nn.Module, handle) -> None:
    # scripted, not traced: the number of detections and the resize depend on the image, and a
    # trace would freeze them at the example's
    torch.jit.save(torch.jit.script(model), handle)


def export_onnx(model: nn.Module, handle, example: torch.Tensor) -> None:
    # dynamo=False: the default (dynamo) exporter of torch 2.x cannot export torchvision's Faster
    # R-CNN; torch.export stops at batched_nms, whose output size depends on the data
    # ("Could not guard on data-dependent expression", torchvision/ops/boxes.py). The
    # TorchScript-based exporter handles it (torchvision tests it) and needs no onnxscript.
    with warnings.catch_warnings():
        # the tracer warns about every shape it reads as a number, and torchvision's graph about
        # ops in general terms; torchvision's ONNX paths handle these, and the export test
        # compares the file's detections with PyTorch's on images of other sizes
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(
            model, ([example],), handle, dynamo=False, opset_version=ONNX_OPSET,
            input_names=["image"], output_names=["boxes", "labels", "scores"],
            dynamic_axes={"image": {1: "height", 2: "width"}, "boxes": {0: "detections"},
                          "labels": {0: "detections"}, "scores": {0: "detections"}},
        )


def check_output(path) -> Path:
    """``path`` as the file to write (a folder there is a user error, said before any work)."""
    return output_file(path, "the exported model", "model.onnx")


def export_detector(model: nn.Module, fmt: str, path) -> Path:
    """Write ``model`` (a converted or stock torchvision detector) to ``path`` as ``fmt``.

    ``model`` itself is reverted, moved to the CPU and put in eval mode (``inference_model``)."""
    check_format(fmt)
    path = check_output(path)
    model = inference_model(model)
    # a temporary file renamed into place: a failed or killed export never leaves half a model
    if fmt == "torchscript":
        return write_atomic(path, lambda handle: export_torchscript(model, handle))
    return write_atomic(path, lambda handle: export_onnx(model, handle, example_image(model)))


def example_image(model: nn.Module) -> torch.Tensor:
    """The image the ONNX trace runs on: the model's input size, fixed content (a file per model,
    not per call). Its size is not baked in (dynamic axes), only its path through the graph."""
    size = int(model.transform.min_size[-1])
    return torch.rand(3, size, size, generator=torch.Generator().manual_seed(0))
