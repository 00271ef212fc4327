"""Adverse events (CONSORT Harms) on a hand-made fixture; arms are not the RESPINE labels.

The trial is an :class:`analysis.data.Trial` of the tables below with the specification
``tests/fixtures/cells_placebo/trial.yaml`` (its ``adverse_events`` module: AESER, TRTEMFL,
relatedness AEREL with related values PROCEDURE and PRODUCT, severity AESEV/SEVERE,
withdrawal AEWDFL, outcome AEOUT/FATAL; safety population = SAFFL "Y", by TRT01A).

Expected counts are worked out by hand; Wilson and Newcombe limits are checked against
statsmodels (an independent implementation).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from analysis.data import Trial
from analysis.families import safety
from analysis.results import ResultsStore
from analysis.spec import load_spec
from analysis.spec.model import Arm

X, C = "Cells", "Placebo"
INF, MSK, NRV = "Infections", "Musculoskeletal", "Nervous system"
SPEC = load_spec(Path(__file__).parent / "fixtures" / "cells_placebo" / "trial.yaml")


def _adsl():
    rows = [("S1", X, "Y"), ("S2", X, "Y"), ("S3", X, "Y"), ("S4", X, "Y"), ("S10", X, "Y"),
            ("S5", C, "Y"), ("S6", C, "Y"), ("S7", C, "Y"), ("S8", C, "Y"),
            ("S9", "", "N")]  # not treated
    return pd.DataFrame(rows, columns=["USUBJID", "TRT01A", "SAFFL"])


def _adae(with_related_sae=True):
    rows = [  # USUBJID, PT, SOC, SER, REL, SEV, OUT, WD, day, TRTEM
        ("S1", "Back pain", MSK, "N", "PROCEDURE", "MILD", "RECOVERED", "N", 1, "Y"),
        ("S1", "Back pain", MSK, "N", "PROCEDURE", "MODERATE", "RECOVERED", "N", 30, "Y"),
        ("S1", "Headache", NRV, "N", "NOT RELATED", "MILD", "RECOVERED", "N", 5, "Y"),
        ("S2", "Discitis", INF, "Y", "PROCEDURE", "SEVERE", "RECOVERING", "N", 12, "Y"),
        ("S10", "Pneumonia", INF, "Y", "NOT RELATED", "SEVERE", "FATAL", "Y", 200, "Y"),
        ("S5", "Back pain", MSK, "N", "PROCEDURE", "MILD", "RECOVERED", "N", 2, "Y"),
        ("S6", "Headache", NRV, "N", "NOT RELATED", "MILD", "RECOVERED", "N", 40, "Y"),
        ("S6", "Influenza", INF, "N", "NOT RELATED", "MILD", "RECOVERED", "N", -3, "N"),
        ("S7", "Headache", NRV, "N", "NOT RELATED", "MILD", "RECOVERED", "N", 60, "Y"),
        ("S9", "Back pain", MSK, "Y", "PROCEDURE", "MILD", "RECOVERED", "N", 3, "Y"),
    ]
    df = pd.DataFrame(rows, columns=["USUBJID", "AEDECOD", "AEBODSYS", "AESER", "AEREL",
                                     "AESEV", "AEOUT", "AEWDFL", "ASTDY", "TRTEMFL"])
    df["AESEQ"] = df.groupby("USUBJID").cumcount() + 1
    df["AETERM"] = df["AEDECOD"]
    if not with_related_sae:
        df = df.loc[df["AEDECOD"] != "Discitis"]
    return df


def three_arm_spec(spec=SPEC):
    """The specification with a third, experimental arm "Other" between Cells and Placebo."""
    cells, placebo = spec.arms
    return replace(spec, arms=(cells, Arm("Other", "Other", None, False, 2),
                               replace(placebo, order=3)))


def make_trial(spec=SPEC, **tables):
    base = dict(adsl=_adsl(), adae=_adae())
    base.update(tables)
    return Trial(tables=base, spec=spec)


@pytest.fixture(scope="module")
def store():
    return ResultsStore.empty().add(safety.compute(make_trial()))


def test_module_from_spec():
    trial = make_trial()
    assert trial.arms == (X, C) and trial.control_arm == C
    assert safety.settings(trial) is not None  # module declared and adae present
    assert safety.related_values(trial) == ("PROCEDURE", "PRODUCT")
    assert safety.related_text(trial) == "the procedure or the product"
    assert list(safety.safety_population(trial)["USUBJID"]) == [  # SAFFL "Y" (S9 is "N")
        "S1", "S2", "S3", "S4", "S10", "S5", "S6", "S7", "S8"]
    assert safety.compute(make_trial(replace(SPEC, modules={}))) == []  # module not declared


def _v(store, endpoint, stat, arm, group=""):
    return store.value(endpoint, stat, arm=arm, group=group, population="SAF")


@pytest.mark.parametrize("endpoint, x_pts, x_ev, c_pts, c_ev", [
    ("ae_any", 3, 5, 3, 3),        # S1 (3), S2, S10 vs S5, S6, S7 (S6's pre-treatment AE dropped)
    ("ae_serious", 2, 2, 0, 0),    # S2, S10 (S9 is not in the safety population)
    ("ae_related", 2, 3, 1, 1),    # S1 (2 back pain), S2 vs S5
    ("ae_related_product", 0, 0, 0, 0),
    ("sae_related", 1, 1, 0, 0),   # S2 discitis
    ("ae_withdrawal", 1, 1, 0, 0),
    ("death", 1, 1, 0, 0),
    ("ae_severe", 2, 2, 0, 0),
])
def test_category_counts(store, endpoint, x_pts, x_ev, c_pts, c_ev):
    assert _v(store, endpoint, "n_patients", X) == x_pts
    assert _v(store, endpoint, "n_events", X) == x_ev
    assert _v(store, endpoint, "n_patients", C) == c_pts
    assert _v(store, endpoint, "n_events", C) == c_ev
    assert _v(store, endpoint, "N", X) == 5 and _v(store, endpoint, "N", C) == 4


def test_percent_and_risk_difference(store):
    r = store.get("ae_any", "percent", arm=X, population="SAF")
    lo, hi = proportion_confint(3, 5, method="wilson")
    assert (r["value"], r["lower"], r["upper"]) == pytest.approx((60, 100 * lo, 100 * hi))
    rd = store.get("ae_any", "risk_difference", arm=f"{X} vs {C}", population="SAF")
    lo, hi = confint_proportions_2indep(3, 5, 3, 4, method="newcomb", compare="diff")
    assert rd["value"] == pytest.approx(100 * (3 / 5 - 3 / 4))
    assert rd["lower"] == pytest.approx(100 * lo) and rd["upper"] == pytest.approx(100 * hi)


def test_by_term(store):
    g = f"{MSK}|Back pain"
    assert _v(store, "ae_pt", "n_patients", X, g) == 1
    assert _v(store, "ae_pt", "n_events", X, g) == 2
    assert _v(store, "ae_soc", "n_patients", C, NRV) == 2
    assert not len(store.select("ae_pt", group=f"{INF}|Influenza"))  # not treatment-emergent
    t = safety.pt_table(make_trial(), store)
    first = t.columns[0]
    # SOCs by patients over arms: Nervous 3, then Infections 2 and Musculoskeletal 2 (by name)
    socs = [s.strip("*") for s in t[first] if s.startswith("**")]
    assert socs == [NRV, INF, MSK]
    assert t.iloc[0][f"{X} (N=5)"] == "1 (20.0) [1]"
    pts = [s.strip("\u00a0") for s in t[first] if not s.startswith("**")]
    assert pts == ["Headache", "Discitis", "Pneumonia", "Back pain"]


def test_summary_table(store):
    t = safety.summary_table(make_trial(), store)
    assert list(t.columns) == [
        "Patients with", f"{X} (N=5)", f"{C} (N=4)", "RD, percentage points (95% CI)"
    ]
    row = t.loc[t["Patients with"] == "Any AE"].iloc[0]
    assert row[f"{X} (N=5)"] == "3 (60.0) [5]"
    assert row["RD, percentage points (95% CI)"].startswith("\u221215.0 (")  # minus sign


def test_sae_listing():
    lst = safety.sae_listing(make_trial())
    assert list(lst["Subject"]) == ["S10", "S2"]  # arm order, then subject
    assert list(lst["Relatedness"]) == ["Not related", "Procedure"]
    assert list(lst["Outcome"]) == ["Fatal", "Recovering"]
    assert list(lst["Onset day"]) == ["200", "12"]
    assert lst.shape[1] <= 7
    adsl = _adsl().assign(SUBJID=lambda d: "0" + d["USUBJID"].str[1:])
    assert list(safety.sae_listing(make_trial(adsl=adsl))["Subject"]) == ["010", "02"]


def test_related_sae_sentence(store):
    s = safety.related_sae_sentence(make_trial(), store)
    assert s == ("1 serious adverse event (in 1 patient) was related to the procedure or the "
                 f"product: 1 to the procedure; {X} 1, {C} 0.")
    trial = make_trial(adae=_adae(with_related_sae=False))
    st = ResultsStore.empty().add(safety.compute(trial))
    assert safety.related_sae_sentence(trial, st) == (
        "No serious adverse event was related to the procedure or the product.")


def test_summary_sentence(store):
    s = safety.summary_sentence(make_trial(), store)
    assert "3 of 5 (60%) in the Cells arm and 3 of 4 (75%) in the Placebo arm had at least" in s
    assert s.endswith("Deaths: 1 in the Cells arm and 0 in the Placebo arm.")
    trial = make_trial(adae=_adae().query("AEOUT != 'FATAL'"))
    st = ResultsStore.empty().add(safety.compute(trial))
    assert safety.summary_sentence(trial, st).endswith("serious adverse event. No patient died.")


def test_three_arms():
    adsl = _adsl()
    adsl.loc[adsl["USUBJID"] == "S10", "TRT01A"] = "Other"
    trial = make_trial(three_arm_spec(), adsl=adsl)
    assert trial.arms == (X, "Other", C) and trial.control_arm == C
    st = ResultsStore.empty().add(safety.compute(trial))
    assert set(st.select("ae_any", statistic="risk_difference")["arm"]) == {
        f"{X} vs {C}", f"Other vs {C}"}
    assert st.value("death", "n_patients", arm="Other", population="SAF") == 1
    t = safety.summary_table(trial, st)
    assert t.shape[1] == 6


# ---------------------------------------------------------------- committed synthetic dataset
@pytest.fixture(scope="module")
def synthetic():
    from analysis.data import load_trial
    from analysis.report import PROJECT_ROOT

    trial = load_trial(PROJECT_ROOT / "data" / "synthetic")
    return trial, ResultsStore.empty().add(safety.compute(trial))


def test_synthetic_no_related_sae(synthetic):
    """Published: no serious adverse event related to the intervention."""
    trial, store = synthetic
    assert sum(_v(store, "sae_related", "n_events", a) for a in trial.arms) == 0
    assert safety.related_sae_sentence(trial, store).startswith("No serious adverse event")


def test_synthetic_counts_independent(synthetic):
    trial, store = synthetic
    saf = trial.adsl.loc[trial.adsl["SAFFL"] == "Y", ["USUBJID", "TRT01A"]]
    ae = trial.adae.loc[trial.adae["TRTEMFL"] == "Y"].merge(saf, on="USUBJID")
    for arm in trial.arms:
        a = ae.loc[ae["TRT01A"] == arm]
        assert _v(store, "ae_any", "n_patients", arm) == a["USUBJID"].nunique()
        assert _v(store, "ae_any", "n_events", arm) == len(a)
        assert _v(store, "ae_any", "N", arm) == (saf["TRT01A"] == arm).sum()
        s = a.loc[a["AESER"] == "Y"]
        assert _v(store, "ae_serious", "n_patients", arm) == s["USUBJID"].nunique()
    t = safety.summary_table(trial, store)
    assert t.shape[1] <= 7


def test_synthetic_values_finite(synthetic):
    import numpy as np

    assert np.isfinite(synthetic[1].table["value"]).all()
