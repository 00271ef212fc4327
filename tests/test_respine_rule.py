"""Tests of the hand-coded RESPINE responder rule (tests/respine_rule.py)."""

import numpy as np
import pandas as pd
import pytest
from respine_rule import derive_responders, odi_component, responder, vas_component


def test_vas_needs_both_20_percent_and_20_mm():
    # base 100 -> 80: 20 mm and 20 % exactly -> met
    # base 50 -> 30: 20 mm, 40 % -> met; base 50 -> 31: 19 mm -> not met
    # base 150 is impossible on the scale but shows the relative part: 120 -> 30 mm, 20 %
    # base 90 -> 71: 19 mm (21 %) -> not met; base 200 -> 170: 30 mm but 15 % -> not met
    got = vas_component([100, 50, 50, 90, 200], [80, 30, 31, 71, 170])
    assert got.tolist() == [1.0, 1.0, 0.0, 0.0, 0.0]


def test_exactly_20_percent_counts_despite_rounding():
    # 0.2 * 45 = 9.000000000000002 in floating point; improvement 9 is exactly 20 %
    assert odi_component([45], [36]).tolist() == [1.0]
    assert odi_component([33.3], [33.3 - 6.66]).tolist() == [1.0]
    assert odi_component([45], [36.01]).tolist() == [0.0]


def test_baseline_zero_cannot_improve():
    assert odi_component([0, 0], [0, 5]).tolist() == [0.0, 0.0]
    assert vas_component([0], [0]).tolist() == [0.0]
    assert responder([0], [0], [0], [0]).tolist() == [0.0]


def test_missing_values_use_three_valued_logic():
    # VAS missing, ODI met -> responder; VAS missing, ODI not met -> not evaluable;
    # both missing -> not evaluable; VAS met, ODI missing -> responder
    got = responder([60, 60, 60, 60], [None, None, np.nan, 35],
                    [40, 40, 40, np.nan], [30, 39, None, 40])
    assert got[0] == 1.0
    assert np.isnan(got[1])
    assert np.isnan(got[2])
    assert got[3] == 1.0


def test_or_of_components():
    # VAS only (60 -> 35: 25 mm, 42 %), ODI only (40 -> 32: 20 %), neither, both
    got = responder([60, 60, 60, 60], [35, 50, 50, 30], [40, 40, 40, 40], [39, 32, 35, 20])
    assert got.tolist() == [1.0, 1.0, 0.0, 1.0]


def test_worsening_is_not_improvement():
    assert responder([50], [70], [30], [45]).tolist() == [0.0]


def _adqs(rows):
    return pd.DataFrame(rows, columns=["USUBJID", "PARAMCD", "AVISITN", "AVAL"])


def test_derive_responders_one_row_per_subject():
    adqs = _adqs([
        ("A", "VAS", 0, 70), ("A", "ODI", 0, 40), ("A", "VAS", 12, 45), ("A", "ODI", 12, 35),
        ("B", "VAS", 0, 60), ("B", "ODI", 0, 50), ("B", "VAS", 12, 55), ("B", "ODI", 12, 45),
        ("C", "VAS", 0, 80), ("C", "ODI", 0, 30),  # missed month 12
        ("C", "SF36PCS", 0, 30),
    ])
    r = derive_responders(adqs, 12)
    assert r["USUBJID"].tolist() == ["A", "B", "C"]
    # A: VAS 70 -> 45 (25 mm, 36 %) met; ODI 40 -> 35 (12.5 %) not met -> responder
    assert r.loc[0, ["VAS_RESP", "ODI_RESP", "RESPONDER"]].tolist() == [1.0, 0.0, 1.0]
    # B: VAS 5 mm, ODI 10 % -> non-responder
    assert r.loc[1, "RESPONDER"] == 0.0
    assert np.isnan(r.loc[2, "RESPONDER"])
    assert r["EVALFL"].tolist() == ["Y", "Y", "N"]
    assert r.loc[0, "BASE_VAS"] == 70 and r.loc[0, "ODI"] == 35


def test_derive_responders_with_subject_list():
    adqs = _adqs([("A", "VAS", 0, 70), ("A", "ODI", 0, 40), ("A", "VAS", 6, 40),
                  ("A", "ODI", 6, 40)])
    r = derive_responders(adqs, 6, subjects=["Z", "A"])
    assert r["USUBJID"].tolist() == ["Z", "A"]
    assert np.isnan(r.loc[0, "RESPONDER"]) and r.loc[1, "RESPONDER"] == 1.0


@pytest.mark.parametrize("visit", [1, 24])
def test_derive_responders_other_visits_not_evaluable_when_absent(visit):
    adqs = _adqs([("A", "VAS", 0, 70), ("A", "ODI", 0, 40)])
    assert derive_responders(adqs, visit)["EVALFL"].tolist() == ["N"]
