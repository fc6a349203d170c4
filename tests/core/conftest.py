import pytest

from tiny_detectors import make_batch


@pytest.fixture
def batch():
    return make_batch()
