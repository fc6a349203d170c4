import pytest


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """The generated dataset, once per session (tools would also generate it on first use)."""
    from hl_detect.data import ensure_synthetic_dataset

    root = tmp_path_factory.mktemp("synthetic")
    ensure_synthetic_dataset(root, num_classes=20, num_train=8, num_test=4, seed=0, image_size=128)
    return root
