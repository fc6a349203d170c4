"""Gradient-ratio comparison of the HL forms (hl_detect/studies/strength.py)."""
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "core"))

from hl_detect.studies.strength import FORMS, compare_strengths, format_strengths, grad_ratios  # noqa: E402
from test_roi_heads import mobilenet  # noqa: E402
from tiny_detectors import make_batch  # noqa: E402


@pytest.fixture(scope="module")
def batches():
    return [make_batch(seed, with_empty=False) for seed in range(4)]


def test_forms_leave_the_model_alone_and_repeat_exactly(batches):
    model = mobilenet()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    first = grad_ratios(model, batches, "hl", {"power": 4}, settle=2)
    again = grad_ratios(model, batches, "hl", {"power": 4}, settle=2)
    assert first == again and len(first) == 2 and all(r > 0 for r in first)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_the_forms_order_as_their_formulas_say(batches):
    rows = {r.label: r for r in compare_strengths(mobilenet(), batches, settle=2)}
    square_el, square_fg, quartic2, quartic3, _ = (rows[label] for label in FORMS)
    # same centers and samples: the foreground denominator is R d / m_fg >= d times stronger
    d = 1024  # the mobilenet FPN head's representation size
    for fg, el in zip(square_fg.ratios, square_el.ratios):
        assert fg / el >= d
    # the quartic form at lambda 0.003 is exactly 1.5 times the one at 0.002
    for a, b in zip(quartic3.ratios, quartic2.ratios):
        assert a / b == pytest.approx(1.5, rel=1e-4)
    table = format_strengths(rows.values(), reference=next(iter(FORMS)))
    assert table.count("\n") == len(FORMS) + 1 and "| 1 |" in table


def test_too_few_batches_is_an_error(batches):
    with pytest.raises(ValueError, match="settle"):
        grad_ratios(mobilenet(), batches[:2], "hl", {}, settle=2)
