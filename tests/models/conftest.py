import urllib.error

import pytest
import torch.hub


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty torch hub cache of this test's own (its checkpoints folder returned, not yet
    made), and a download that fails as it does offline."""
    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return tmp_path / "torch_home" / "hub" / "checkpoints"
