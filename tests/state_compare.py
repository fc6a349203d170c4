"""Bit-for-bit comparison of checkpoints (nested dicts/lists of tensors and plain values)."""
import torch


def assert_same(a, b, where="checkpoint"):
    """Equal to the bit: tensors with torch.equal (dtype too), everything else with ==."""
    if torch.is_tensor(a):
        assert torch.is_tensor(b) and a.dtype == b.dtype and torch.equal(a, b), f"{where} differs"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{where}: keys {sorted(set(a) ^ set(b))}"
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), f"{where}: lengths"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_same_run(ours, reference, ignore=("config", "train_seconds", "resumes")):
    """Every entry of two final checkpoints but ``ignore`` (the config's output_dir differs,
    and the wall time a run took and the record of its resumes are not part of its state)."""
    assert set(ours) == set(reference)
    for key in sorted(set(ours) - set(ignore)):
        assert_same(ours[key], reference[key], key)
