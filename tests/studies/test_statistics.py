"""Paired tests, Holm, TOST against scipy and hand computations."""
import math

import numpy as np
import pytest
from scipy import stats

from hl_detect.studies.statistics import holm, paired_t_pvalue, seed_spread_gate, tost_interval, verdict


def test_paired_p_matches_scipy():
    a = np.array([70.1, 68.2, 71.5, 69.9, 72.3, 70.0])
    b = np.array([68.0, 67.9, 69.1, 70.2, 69.0, 68.4])
    assert paired_t_pvalue(a - b) == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-12)
    assert math.isnan(paired_t_pvalue([1.0]))
    assert paired_t_pvalue([0.0, 0.0]) == 1.0 and paired_t_pvalue([2.0, 2.0]) == 0.0


def test_holm_by_hand():
    # sorted 0.01, 0.02, 0.04, 0.30 (m = 4): 0.04, 0.06, 0.08, 0.30; then back to input order
    assert holm([0.04, 0.01, 0.30, 0.02]) == pytest.approx([0.08, 0.04, 0.30, 0.06])
    # monotone step-down: a smaller raw p never gets a larger adjusted p than a later one
    assert holm([0.01, 0.011]) == pytest.approx([0.02, 0.02])
    adjusted = holm([0.5, float("nan"), 0.01])
    assert adjusted[0] == pytest.approx(0.5) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.02)


def test_tost_interval_is_the_90_percent_t_interval():
    d = np.array([0.3, -0.4, 0.1, 0.6, -0.2, 0.0, 0.2, -0.1])
    low, high = tost_interval(d)
    ci = stats.t.interval(0.90, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    assert (low, high) == pytest.approx(ci)


def test_verdicts():
    tight = [0.3, -0.4, 0.1, 0.6, -0.2, 0.0, 0.2, -0.1]
    assert verdict(tight, adjusted_p=0.8, margin=2.0) == "equivalent (±2)"
    wide = [3.0, -4.0, 1.0, 6.0, -2.0]  # contains 0, but far from showing equivalence
    assert verdict(wide, adjusted_p=0.8, margin=2.0) == "undecided"
    assert verdict([-9.0, -8.0, -10.0], adjusted_p=0.01, margin=2.0) == "worse"
    assert verdict([9.0, 8.0, 10.0], adjusted_p=0.01, margin=2.0) == "better"
    assert verdict([9.0], adjusted_p=float("nan"), margin=2.0).startswith("undecided")


def test_no_verdict_below_the_protocols_seed_count():
    """Two seeds agreeing to the second decimal give p ~ 0 on one degree of freedom; the
    keystone study's protocol asks 8 paired seeds before a claim either way."""
    agreeing = [2.88, 2.8801]
    p = paired_t_pvalue(agreeing)
    assert p < 0.01 and verdict(agreeing, p, margin=2.0) == "better"  # what the test alone says
    assert verdict(agreeing, p, margin=2.0, min_pairs=8) == "undecided (n < 8)"
    tight = [0.3, -0.4, 0.1, 0.6, -0.2, 0.0, 0.2, -0.1]
    assert verdict(tight, 0.8, margin=2.0, min_pairs=8) == "equivalent (±2)"  # 8 pairs: decided
    assert verdict(tight[:5], 0.8, margin=2.0, min_pairs=8) == "undecided (n < 8)"


def test_gate():
    assert seed_spread_gate([70.0, 71.0, 69.5, 70.5, 70.2], 2.0) is True
    assert seed_spread_gate([65.0, 71.0, 69.5, 74.5, 70.2], 2.0) is False
    assert seed_spread_gate([70.0], 2.0) is None
