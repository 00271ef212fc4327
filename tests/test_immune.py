"""Immune response: de novo sensitisation, Fisher, MFI medians, figures, on a hand-made fixture.

Arms are deliberately not the RESPINE labels ("Cells" experimental, "Placebo" control). The
trial is an :class:`analysis.data.Trial` of the tables below with the specification
``tests/fixtures/cells_placebo/trial.yaml`` (its ``immunogenicity`` module: HLAI and HLAII,
threshold 1000 MFI, safety population, association endpoint ``responder_m12``); tests that
vary a setting derive a modified specification from it.
Expected values are worked out by hand in the comments, or computed independently
(statsmodels Wilson interval, scipy Fisher).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from analysis.data import Trial
from analysis.displays.formatting import fmt_num
from analysis.families import immune
from analysis.results import ResultsStore
from analysis.spec import load_spec
from analysis.spec.model import Arm

matplotlib.use("Agg")

X, C = "Cells", "Placebo"
SPEC = load_spec(Path(__file__).parent / "fixtures" / "cells_placebo" / "trial.yaml")


def _adsl():
    rows = [  # USUBJID, TRT01P, TRT01A, SAFFL
        ("S1", X, X, "Y"), ("S2", X, X, "Y"), ("S3", X, X, "Y"), ("S4", X, X, "Y"),
        ("S5", C, C, "Y"), ("S6", C, C, "Y"), ("S7", C, C, "Y"), ("S8", C, C, "Y"),
        ("S9", X, "", "N"),   # randomised, not treated: out of the safety population
        ("S10", C, X, "Y"),   # allocated Placebo, received Cells: counted as Cells
    ]
    return pd.DataFrame(rows, columns=["USUBJID", "TRT01P", "TRT01A", "SAFFL"])


HLAI = {  # visit -> MFI (None = visit not done)
    "S1": [100, 1500, 800, 200],     # de novo at M1
    "S2": [100, 200, 300, 1000],     # de novo at M6 (exactly the threshold counts)
    "S3": [2000, 3000, 2500, 2000],  # positive at baseline: not at risk
    "S4": [100, 999, None, 500],     # never positive
    "S10": [50, 5000, 4000, 3000],   # de novo at M1
    "S5": [100, 100, 100, 100],      # never positive
    "S6": [100, None, None, None],   # no post-baseline value: not evaluable
    "S7": [None, 2000, None, None],  # no baseline: not evaluable
    "S8": [300, 1200, 100, 100],     # de novo at M1
    "S9": [100, 5000, None, None],   # not in the safety population
}
HLAII = {"S1": [0, 100, 100, None], "S5": [100, 100, 2500, None]}  # S5 de novo at M3


def _adimm():
    rows = []
    for code, label, table in (("HLAI", "Anti-HLA class I", HLAI),
                               ("HLAII", "Anti-HLA class II", HLAII)):
        for subj, vals in table.items():
            for v, aval in zip((0, 1, 3, 6), vals, strict=True):
                if aval is None:
                    continue
                rows.append({"USUBJID": subj, "PARAMCD": code, "PARAM": label, "AVISITN": v,
                             "AVAL": float(aval), "POSFL": "Y" if aval >= 1000 else "N",
                             "ABLFL": "Y" if v == 0 else ""})
    return pd.DataFrame(rows)


def _adqs():
    # VAS 60 -> 30: responder; VAS 60 -> 55 and ODI 40 -> 38: not a responder.
    resp = {"S1": True, "S2": False, "S3": True, "S4": True, "S10": True, "S5": False}
    rows = []
    for subj, r in resp.items():
        for v, vas, odi in ((0, 60, 40), (12, 30 if r else 55, 38)):
            rows += [{"USUBJID": subj, "PARAMCD": "VAS", "AVISITN": v, "AVAL": float(vas)},
                     {"USUBJID": subj, "PARAMCD": "ODI", "AVISITN": v, "AVAL": float(odi)}]
    return pd.DataFrame(rows)


def with_module(spec=SPEC, **settings):
    """The specification with some settings of its immunogenicity module changed."""
    modules = dict(spec.modules)
    modules["immunogenicity"] = {**modules["immunogenicity"], **settings}
    return replace(spec, modules=modules)


def three_arm_spec(spec=SPEC):
    """The specification with a third, experimental arm "Other" between Cells and Placebo."""
    cells, placebo = spec.arms
    return replace(spec, arms=(cells, Arm("Other", "Other", None, False, 2),
                               replace(placebo, order=3)))


def make_trial(spec=SPEC, **tables):
    base = dict(adsl=_adsl(), adimm=_adimm(), adqs=_adqs(), adae=pd.DataFrame())
    base.update(tables)
    return Trial(tables=base, spec=spec)


@pytest.fixture(scope="module")
def store():
    return ResultsStore.empty().add(immune.compute(make_trial()))


def test_threshold_from_spec():
    trial = make_trial()
    assert trial.arms == (X, C) and trial.control_arm == C
    assert immune.settings(trial) is not None  # module declared and adimm present
    assert immune.positivity_threshold(trial) == 1000.0
    assert immune.threshold_text(trial) == "1000 MFI"
    assert immune.positivity_threshold(make_trial(with_module(positivity_threshold=1001.0))) \
        == 1001.0
    assert immune.settings(make_trial(adimm=pd.DataFrame())) is None  # no dataset: module off
    assert immune.compute(make_trial(adimm=pd.DataFrame())) == []


def test_status_hand_computed():
    st = immune.immune_status(_adimm(), 1000).set_index(["USUBJID", "PARAMCD"])
    assert st.loc[("S1", "HLAI"), "DENOVO"] == 1 and st.loc[("S1", "HLAI"), "DENOVO_VISIT"] == 1
    assert st.loc[("S2", "HLAI"), "DENOVO_VISIT"] == 6
    assert not st.loc[("S3", "HLAI"), "AT_RISK"] and pd.isna(st.loc[("S3", "HLAI"), "DENOVO"])
    assert st.loc[("S4", "HLAI"), "DENOVO"] == 0
    assert pd.isna(st.loc[("S6", "HLAI"), "DENOVO"])  # no follow-up
    assert pd.isna(st.loc[("S7", "HLAI"), "DENOVO"])  # no baseline
    assert st.loc[("S5", "HLAII"), "DENOVO_VISIT"] == 3


def test_denovo_any_visit(store):
    # Cells at risk and evaluable: S1, S2, S4, S10 -> de novo S1, S2, S10 = 3/4;
    # Placebo: S5, S8 (S6 no follow-up, S7 no baseline) -> S8 = 1/2.
    for arm, (x, n) in ((X, (3, 4)), (C, (1, 2))):
        assert store.value("denovo_HLAI", "n", arm=arm, visit="", population="SAF") == x
        assert store.value("denovo_HLAI", "N", arm=arm, visit="", population="SAF") == n
        r = store.get("denovo_HLAI", "percent", arm=arm, visit="", population="SAF")
        lo, hi = proportion_confint(x, n, method="wilson")
        assert r["value"] == pytest.approx(100 * x / n)
        assert r["lower"] == pytest.approx(100 * lo) and r["upper"] == pytest.approx(100 * hi)


def test_denovo_by_visit(store):
    expected = {(X, "1"): (2, 4), (X, "3"): (1, 3), (X, "6"): (2, 4),
                (C, "1"): (1, 2), (C, "3"): (0, 2), (C, "6"): (0, 2)}
    for (arm, v), (x, n) in expected.items():
        assert store.value("denovo_HLAI", "n", arm=arm, visit=v, population="SAF") == x
        assert store.value("denovo_HLAI", "N", arm=arm, visit=v, population="SAF") == n


def test_any_class(store):
    # Cells: S1, S2, S10 de novo, S4 not (S3 not evaluable) -> 3/4; Placebo: S5 (HLAII), S8 -> 2/2
    assert store.value("denovo_ANY", "n", arm=X, visit="", population="SAF") == 3
    assert store.value("denovo_ANY", "N", arm=C, visit="", population="SAF") == 2
    assert store.value("denovo_ANY", "n", arm=C, visit="", population="SAF") == 2
    # Month 3 Placebo: S5 (HLAII positive), S8 (negative) -> 1/2
    assert store.value("denovo_ANY", "n", arm=C, visit="3", population="SAF") == 1
    assert store.value("denovo_ANY", "N", arm=C, visit="3", population="SAF") == 2


def test_sensitisation_fisher(store):
    contrast = f"{X} vs {C}"
    p = store.value("sensitisation", "p_value", arm=contrast, group="HLAI", population="SAF")
    assert p == pytest.approx(stats.fisher_exact([[3, 1], [1, 1]]).pvalue)
    rd = store.get("sensitisation", "risk_difference", arm=contrast, group="HLAII",
                   population="SAF")
    assert rd["value"] == pytest.approx(100 * (0 / 1 - 1 / 1))


def test_baseline_positive_and_mfi(store):
    # baseline HLAI Cells: S1, S2, S3, S4, S10 with S3 positive -> 1/5
    assert store.value("immune_baseline_positive", "n", arm=X, group="HLAI",
                       population="SAF") == 1
    assert store.value("immune_baseline_positive", "N", arm=X, group="HLAI",
                       population="SAF") == 5
    # month 1 HLAI Cells: 1500, 200, 3000, 999, 5000 -> median 1500 (S9 excluded)
    assert store.value("mfi_HLAI", "median", arm=X, visit=1, population="SAF") == 1500
    assert store.value("mfi_HLAI", "q1", arm=X, visit=1, population="SAF") == 999


def test_posfl_check():
    adimm = _adimm()
    assert immune.posfl_disagreements(adimm, 1000) == 0
    adimm.loc[0, "POSFL"] = "Y"  # S1 baseline HLAI, MFI 100
    assert immune.posfl_disagreements(adimm, 1000) == 1


def test_threshold_drives_positivity():
    trial = make_trial(with_module(positivity_threshold=1001.0))
    st = ResultsStore.empty().add(immune.compute(trial))
    assert st.value("immune_threshold", "mfi", population="SAF") == 1001
    # S2 (exactly 1000 at M6) is no longer de novo: Cells 2/4
    assert st.value("denovo_HLAI", "n", arm=X, visit="", population="SAF") == 2


def test_response_by_sensitisation(store):
    # Cells, evaluable for sensitisation and month 12: sensitised S1 (R), S2 (NR), S10 (R) -> 2/3;
    # not sensitised S4 (R) -> 1/1. S3 not evaluable for sensitisation.
    kw = dict(arm=X, visit=12, population="SAF", analysis="exploratory")
    assert store.value("response_by_sensitisation", "n_responders", group="Sensitised", **kw) == 2
    assert store.value("response_by_sensitisation", "N", group="Sensitised", **kw) == 3
    assert store.value("response_by_sensitisation", "N", group="Not sensitised", **kw) == 1
    p = store.value("response_by_sensitisation", "p_value",
                    group="Sensitised vs Not sensitised", **kw)
    assert p == pytest.approx(stats.fisher_exact([[2, 1], [1, 0]]).pvalue)
    assert not len(store.select("response_by_sensitisation", arm=C))


def test_tables_and_sentence(store):
    trial = make_trial()
    t = immune.sensitisation_table(trial, store)
    assert list(t["Antibodies"]) == ["Anti-HLA class I", "Anti-HLA class II", "Any class"]
    # Labels now come from the module's declared parameters (module docstring: "its assay
    # parameters (PARAMCD, label, short label, in display order)"), no longer from PARAM; a
    # parameter the module does not declare is not analysed at all.
    xyz = _adimm().replace({"PARAMCD": {"HLAII": "XYZ"}})
    declared = SPEC.modules["immunogenicity"]["parameters"][:1] + [
        {"paramcd": "XYZ", "label": "Anti-HLA class II"}]
    other = make_trial(with_module(parameters=declared), adimm=xyz)
    assert immune.class_labels(other)["XYZ"] == "Anti-HLA class II"  # no short label: label
    assert immune.classes(other) == ["HLAI", "XYZ"]
    assert immune.class_labels(trial, short=False)["HLAII"] == "Anti-HLA class II antibodies"
    assert "XYZ" not in set(immune.immune_data(make_trial(adimm=xyz))["PARAMCD"])
    assert t.loc[0, f"{X}, n/N (%)"] == "3/4 (75%)"
    assert t.loc[0, f"{C}, n/N (%)"] == "1/2 (50%)"
    assert t.shape[1] <= 7
    v = immune.denovo_visit_table(trial, store)
    # the visit column is now "Visit", holding the schedule's label (denovo_visit_table)
    assert v.loc[(v["Antibodies"] == "Anti-HLA class I") & (v["Visit"] == "Month 3"),
                 f"{X}, n/N (%)"].item() == "1/3 (33%)"
    r = immune.response_table(trial, store)
    assert list(r["Responders, n/N (%)"]) == ["2/3 (67%)", "1/1 (100%)"]
    s = immune.sensitisation_sentence(trial, store)
    assert s.startswith("De novo antibodies appeared in 3 of 4 patients (75%) in the Cells arm")
    assert "p = 1.00" in s
    # effect size with its CI (CONSORT): any class 3/4 vs 2/2, Newcombe hybrid score limits
    (l1, u1), (l2, u2) = (proportion_confint(3, 4, method="wilson"),
                          proportion_confint(2, 2, method="wilson"))
    lo = -0.25 - np.sqrt((0.75 - l1) ** 2 + (u2 - 1.0) ** 2)
    hi = -0.25 + np.sqrt((u1 - 0.75) ** 2 + (1.0 - l2) ** 2)
    assert "2 of 2 patients (100%) in the Placebo arm" in s
    assert (f"difference \u221225 percentage points, 95% CI {fmt_num(100 * lo, 0)} to "
            f"{fmt_num(100 * hi, 0)}; Fisher's exact test, p = 1.00") in s


def test_three_arms_contrasts_against_control():
    adsl = _adsl()
    adsl.loc[adsl["USUBJID"] == "S10", "TRT01A"] = "Other"
    trial = make_trial(three_arm_spec(), adsl=adsl)
    assert trial.arms == (X, "Other", C) and trial.control_arm == C
    st = ResultsStore.empty().add(immune.compute(trial))
    arms = set(st.select("sensitisation")["arm"])
    assert arms == {f"{X} vs {C}", f"Other vs {C}"}
    assert st.value("denovo_HLAI", "n", arm="Other", visit="", population="SAF") == 1


def test_figures(store):
    figs = immune.figures(make_trial(), store)
    assert set(figs) == {"immune_denovo", "immune_mfi"}
    mfi = figs["immune_mfi"]
    assert len(mfi.axes) == 2 and mfi.axes[0].get_yscale() == "log"
    # one line per Cells/Placebo subject with data + one median line per arm (+ threshold)
    n_subj = _adimm().query("PARAMCD == 'HLAI' and USUBJID != 'S9'")["USUBJID"].nunique()
    assert len(mfi.axes[0].lines) == n_subj + 2 + 1
    den = figs["immune_denovo"]
    assert len(den.axes) == 3  # HLAI, HLAII, any class


def test_response_sentence(store):
    s = immune.response_sentence(make_trial(), store)
    assert "2 of 3 sensitised patients (67%) and 1 of 1 non-sensitised patients (100%)" in s
    assert "difference −33 percentage points" in s and "p = 1.00" in s


# ---------------------------------------------------------------- committed synthetic dataset
@pytest.fixture(scope="module")
def synthetic():
    from analysis.data import load_trial
    from analysis.report import PROJECT_ROOT

    trial = load_trial(PROJECT_ROOT / "data" / "synthetic")
    return trial, ResultsStore.empty().add(immune.compute(trial))


def test_synthetic_posfl_agrees(synthetic):
    trial, store = synthetic
    assert np.isfinite(store.table["value"]).all()  # results.json must stay valid JSON
    assert store.value("immune_threshold", "mfi", population="SAF") == 1000
    assert store.value("immune_threshold", "posfl_disagreements", population="SAF") == 0


def test_synthetic_denovo_independent(synthetic):
    """De novo counts at any visit, recomputed with a wide table (independent of immune.py)."""
    trial, store = synthetic
    saf = trial.adsl.loc[trial.adsl["SAFFL"] == "Y", ["USUBJID", "TRT01A"]]
    wide = trial.adimm.pivot_table(index=["USUBJID", "PARAMCD"], columns="AVISITN",
                                   values="AVAL").reset_index()
    post = [c for c in wide.columns if isinstance(c, int | float) and c > 0]
    wide = wide.merge(saf, on="USUBJID")
    ev = wide.loc[(wide[0] < 1000) & wide[post].notna().any(axis=1)].copy()
    ev["denovo"] = (ev[post] >= 1000).any(axis=1)
    for code in ("HLAI", "HLAII", "DSA"):
        for arm in trial.arms:
            e = ev.loc[(ev["PARAMCD"] == code) & (ev["TRT01A"] == arm)]
            assert store.value(f"denovo_{code}", "n", arm=arm, visit="",
                               population="SAF") == e["denovo"].sum()
            assert store.value(f"denovo_{code}", "N", arm=arm, visit="",
                               population="SAF") == len(e)
    anyc = ev.groupby(["USUBJID", "TRT01A"])["denovo"].max().reset_index()
    for arm in trial.arms:
        a = anyc.loc[anyc["TRT01A"] == arm]
        assert store.value("denovo_ANY", "n", arm=arm, visit="", population="SAF") == a[
            "denovo"].sum()
