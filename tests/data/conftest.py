"""Fixtures shared by the data tests."""
import pytest


@pytest.fixture
def small_synthetic(tmp_path_factory):
    """A tiny embedded dataset (8 train + 4 test images, 128 px)."""
    from hl_detect.data import ensure_synthetic_dataset
    return ensure_synthetic_dataset(tmp_path_factory.mktemp("syn") / "s", num_classes=20,
                                    num_train=8, num_test=4, seed=0, image_size=128)
