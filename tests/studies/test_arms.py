"""Study arms: parsing, folder names, sweeps."""
import pytest

from hl_detect.studies.arms import expand_sweeps, parse_arm, parse_sweep


def test_arm_parsing_and_folders():
    arm = parse_arm("hl[normalize_by=elements, weight=0.02]")
    assert arm.loss == "hl" and arm.label == "hl[normalize_by=elements,weight=0.02]"
    assert arm.overrides == {"loss_options.hl.normalize_by": "elements", "loss_options.hl.weight": "0.02"}
    assert arm.folder == "hl__normalize_by-elements__weight-0.02"
    assert parse_arm("softmax").folder == "softmax"
    composed = parse_arm("cosface+hl[weight=2,lr=1e-3,model.options.width=8]")
    assert composed.overrides == {"loss_options.hl.weight": "2", "lr": "1e-3", "model.options.width": "8"}
    with pytest.raises(ValueError, match="unknown classification loss"):
        parse_arm("hyper")
    with pytest.raises(ValueError, match="key=value"):
        parse_arm("hl[weight]")


def test_sweeps_multiply_only_the_arms_that_use_the_key():
    arms = [parse_arm(a) for a in ("softmax", "hl[normalize_by=elements]", "cosface+hl", "hl[weight=7]")]
    out = expand_sweeps(arms, [parse_sweep("loss_options.hl.weight=0.1,1")])
    assert [a.label for a in out] == ["softmax", "hl[normalize_by=elements,weight=0.1]", "hl[normalize_by=elements,weight=1]",
                                      "cosface+hl[weight=0.1]", "cosface+hl[weight=1]", "hl[weight=7]"]
    seeds = expand_sweeps([parse_arm("softmax")], [parse_sweep("lr=1e-3,2e-3")])
    assert [a.label for a in seeds] == ["softmax[lr=1e-3]", "softmax[lr=2e-3]"]
