"""Offline ImageNet weights: a clear message naming the file, the folder and the alternative."""
import urllib.error

import pytest
import torch.hub

from hl_detect.models import BackboneWeightsError, build_detector


def test_offline_backbone_weights_explain_what_to_do(monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    # no network at test time: make torchvision's download fail the way it does offline
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(BackboneWeightsError) as error:
        build_detector("c4", num_classes=21, weights_backbone="IMAGENET1K_V1")
    message = str(error.value)
    assert "resnet50-" in message and torch.hub.get_dir() in message
    assert "weights_backbone=null" in message
