"""Export keeps a margin model's scores: cosface+hl (the checkout demo's loss; the
20-class demo trains its logit part, CosFace) through TorchScript and
ONNX gives the trained model's detections.

A margin loss's classifier computes s * cos(theta), the cosine of normalized features and
class directions; no plain nn.Linear computes that, so the export keeps the normalized
classifier (``revert_to_torchvision(keep_classifier=True)``). The plain revert, which gives
torchvision's layout for fine-tuning, changes the scores: checked here too, so this test
fails if the export ever falls back to it."""
import copy
import warnings

import pytest
import torch

from detection_compare import assert_same_detections
from hl_detect.convert import revert_to_torchvision
from hl_detect.export import export_detector
from hl_detect.losses.normalized_classifier import NormalizedLinear
from hl_detect.run.load import build_model_from_config
from tiny_runs import tiny_config

pytestmark = pytest.mark.slow  # two exports of a small detector
NUM_CLASSES = 20


@pytest.fixture(scope="module")
def margin_model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("margin")
    # every proposal kept and no score floor: a model with untrained weights still detects, and
    # cutting near-equal RPN scores would let 1e-7 between runtimes pick other boxes
    cfg = tiny_config(tmp / "data", tmp / "run", "loss=cosface+hl", "model.options.box_score_thresh=0.0",
                      "data.resize.min_size=64", "data.resize.max_size=96", "model.options.min_size=64",
                      "model.options.max_size=96",
                      "model.options.rpn_pre_nms_top_n_test=2000", "model.options.rpn_post_nms_top_n_test=2000")
    torch.manual_seed(0)
    model = build_model_from_config(cfg, NUM_CLASSES).eval()
    assert isinstance(model.roi_heads.box_predictor.cls_score, NormalizedLinear)
    generator = torch.Generator().manual_seed(3)
    images = [torch.rand(3, 72, 96, generator=generator), torch.rand(3, 60, 60, generator=generator)]
    with torch.no_grad():  # one image at a time, as ONNX runs them: a batch pads each image to the largest,
        expected = [model([image])[0] for image in images]  # which adds anchors and so detections
    return model, images, expected


def test_the_plain_revert_would_change_the_scores(margin_model):
    model, images, expected = margin_model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it warns that the scores change: that is the point here
        plain = revert_to_torchvision(copy.deepcopy(model)).eval()
    with torch.no_grad():
        got = plain(images[:1])
    assert not torch.allclose(got[0]["scores"][:5], expected[0]["scores"][:5], atol=1e-3)


def test_torchscript_keeps_the_margin_models_detections(margin_model, tmp_path):
    model, images, expected = margin_model
    path = export_detector(copy.deepcopy(model), "torchscript", tmp_path / "model.pt")
    scripted = torch.jit.load(str(path))
    for k, (image, want) in enumerate(zip(images, expected)):
        with torch.no_grad():
            _, detections = scripted([image])
        assert_same_detections(detections[0], want, atol=1e-5, what=f"image {k}")


def test_onnx_keeps_the_margin_models_detections(margin_model, tmp_path):
    import onnxruntime as ort

    model, images, expected = margin_model
    path = export_detector(copy.deepcopy(model), "onnx", tmp_path / "model.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for k, (image, want) in enumerate(zip(images, expected)):
        assert_same_detections(tuple(session.run(None, {"image": image.numpy()})), want, atol=1e-4,
                               what=f"image {k}")
