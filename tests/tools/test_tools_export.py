"""tools/export.py: a trained run as TorchScript and ONNX that give PyTorch's detections.

Both files are written by the real command line from one tiny run (tests/conftest.py's
deploy_run) and compared, image by image, with the model as eval_det.py loads it, on
images of three sizes that the model resizes by three different factors (a scale frozen
at the export example's would show)."""
import json

import numpy as np
import pytest
import torch

from detection_compare import assert_same_detections
from tiny_runs import run_tool

pytestmark = pytest.mark.slow  # a training run and two exports, in subprocesses


@pytest.fixture(scope="module")
def model_and_images(deploy_run, tiny_data):
    from hl_detect.data import read_image
    from hl_detect.run.load import load_run

    model, cfg, categories = load_run(deploy_run, torch.device("cpu"))
    assert cfg["model"]["options"]["min_size"] == 64 and cfg["model"]["options"]["max_size"] == 96
    picture = torch.from_numpy(read_image(tiny_data / "JPEGImages" / "000009.jpg")).permute(2, 0, 1).float() / 255
    assert picture.shape == (3, 96, 128)
    images = [picture,  # scale 2/3, to 64 x 85
              picture[:, 8:88, 20:120].contiguous(),  # 80 x 100: scale 0.8, to 64 x 80
              torch.nn.functional.interpolate(picture[None], size=(48, 60), mode="bilinear")[0]]  # scale 4/3
    with torch.no_grad():
        expected = model(images)
    return model, images, expected, categories


def test_torchscript_gives_pytorchs_detections(deploy_run, model_and_images, tmp_path):
    from hl_detect.export import inference_model

    _, images, expected, categories = model_and_images
    output = tmp_path / "model.pt"
    run_tool("export.py", deploy_run, "--format", "torchscript", "--output", output)
    scripted = torch.jit.load(str(output))
    with torch.no_grad():
        _, detections = scripted(images)  # a scripted torchvision detector returns (losses, detections)
    for k, (got, want) in enumerate(zip(detections, expected)):
        assert_same_detections(got, want, atol=1e-5, what=f"image {k}")
    # the file holds a stock torchvision model's weights, none of the loss's training state
    stock = inference_model(model_and_images[0])
    stock.load_state_dict(scripted.state_dict(), strict=True)
    card = json.loads((tmp_path / "model.pt.json").read_text())
    assert card["format"] == "torchscript"
    assert [c["name"] for c in card["categories"]] == [c["name"] for c in categories]
    assert [c["label"] for c in card["categories"]] == list(range(1, len(categories) + 1))


def test_onnx_under_onnxruntime_gives_pytorchs_detections(deploy_run, model_and_images, tmp_path):
    import onnxruntime as ort  # in the test extra: a missing one fails here, never skips the check

    _, images, expected, _ = model_and_images
    output = tmp_path / "model.onnx"
    run_tool("export.py", deploy_run, "--format", "onnx", "--output", output)
    session = ort.InferenceSession(str(output), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"]
    assert [o.name for o in session.get_outputs()] == ["boxes", "labels", "scores"]
    for k, (image, want) in enumerate(zip(images, expected)):
        boxes, labels, scores = session.run(None, {"image": image.numpy()})
        assert labels.dtype == np.int64
        assert_same_detections((boxes, labels, scores), want, atol=1e-4, what=f"image {k} {tuple(image.shape)}")
