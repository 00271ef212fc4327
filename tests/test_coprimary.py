"""Co-primary family on a small hand-built trial (arm names deliberately not the real ones)."""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analysis.displays.formatting import fmt_p
from analysis.families import coprimary
from analysis.results import ResultsStore
from analysis.stats.ancova import ancova
from analysis.stats.binary import chisq_yates, newcombe_rd_ci, odds_ratio, risk_ratio

ARMS = ("Cells", "Placebo")
CON = "Cells vs Placebo"
# per arm: (responders, non-responders, missing at month 12)
DESIGN = {"Cells": (15, 5, 10), "Placebo": (10, 15, 5)}


def make_trial():
    rng = np.random.default_rng(11)
    adsl, adqs, admri = [], [], []
    k = 0
    for arm, (resp, nonresp, miss) in DESIGN.items():
        kinds = ["R"] * resp + ["N"] * nonresp + ["M"] * miss
        for i, kind in enumerate(kinds):
            k += 1
            uid = f"S{k:03d}"
            country = ["France", "Spain", "Italy"][k % 3]
            adsl.append({"USUBJID": uid, "TRT01P": arm, "COUNTRY": country, "ITTFL": "Y",
                         # the first two patients of each arm (responders) are not per-protocol
                         "PPROTFL": "N" if i < 2 else "Y"})
            bv, bo = 70.0 + rng.integers(-5, 6), 40.0 + rng.integers(-5, 6)
            traj = {"R": (0.5, 0.6), "N": (0.95, 0.95), "M": (0.7, 0.8)}[kind]
            for v in (0, 1, 3, 6, 12):
                if v == 12 and kind == "M":
                    continue
                if kind == "M" and v == 6 and i % 2:
                    continue  # some of the missing also missed month 6
                f_v, f_o = (1.0, 1.0) if v == 0 else traj
                jitter = 0 if v in (0, 12) else rng.normal(0, 3)
                adqs.append({"USUBJID": uid, "PARAMCD": "VAS", "AVISITN": v,
                             "AVAL": round(bv * f_v + jitter, 1)})
                adqs.append({"USUBJID": uid, "PARAMCD": "ODI", "AVISITN": v,
                             "AVAL": round(bo * f_o + jitter, 1)})
            base_t2 = 80 + rng.normal(0, 10)
            admri.append({"USUBJID": uid, "PARAMCD": "T2", "AVISITN": 0, "AVAL": base_t2})
            if kind != "M":
                t2 = 10 + 0.9 * base_t2 + (5 if arm == "Cells" else 0) + rng.normal(0, 4)
                admri.append({"USUBJID": uid, "PARAMCD": "T2", "AVISITN": 12, "AVAL": t2})
    return SimpleNamespace(adsl=pd.DataFrame(adsl), adqs=pd.DataFrame(adqs),
                           admri=pd.DataFrame(admri), arms=ARMS, control_arm="Placebo")


@pytest.fixture(scope="module")
def trial():
    return make_trial()


@pytest.fixture(scope="module")
def store(trial):
    return ResultsStore.empty().add(coprimary.compute(trial))


def test_fixture_derivation_matches_design(trial):
    d = coprimary.responder_data(trial)
    for arm, (resp, nonresp, miss) in DESIGN.items():
        g = d[d["ARM"] == arm]
        assert (g["RESPONDER"] == 1).sum() == resp
        assert (g["RESPONDER"] == 0).sum() == nonresp
        assert g["RESPONDER"].isna().sum() == miss


def test_primary_observed_cases(store):
    v = store.value
    assert v("responder_m12", "n_responders", arm="Cells") == 15
    assert v("responder_m12", "N", arm="Cells") == 20
    assert v("responder_m12", "n_missing", arm="Cells") == 10
    assert v("responder_m12", "percent", arm="Placebo") == pytest.approx(40.0)
    rd, lo, hi = newcombe_rd_ci(15, 20, 10, 25)
    r = store.get("responder_m12", "risk_difference", arm=CON)
    assert (r["value"], r["lower"], r["upper"]) == pytest.approx((100 * rd, 100 * lo, 100 * hi))
    assert r["value"] == pytest.approx(35.0)
    assert v("responder_m12", "p_value", arm=CON) == pytest.approx(chisq_yates(15, 20, 10, 25)[1])
    rr = store.get("responder_m12", "risk_ratio", arm=CON)
    assert (rr["value"], rr["lower"], rr["upper"]) == pytest.approx(risk_ratio(15, 20, 10, 25))
    o = store.get("responder_m12", "odds_ratio", arm=CON)
    assert o["value"] == pytest.approx(15 * 15 / (5 * 10))
    assert (o["lower"], o["upper"]) == pytest.approx(odds_ratio(15, 20, 10, 25)[1:])


def test_nri_and_pp(store):
    v = store.value
    assert v("responder_m12", "N", analysis="nri", arm="Cells") == 30
    assert v("responder_m12", "percent", analysis="nri", arm="Cells") == pytest.approx(50.0)
    assert v("responder_m12", "risk_difference", analysis="nri", arm=CON) == pytest.approx(
        100 * (15 / 30 - 10 / 30))
    assert v("responder_m12", "n_responders", analysis="pp", arm="Cells") == 13
    assert v("responder_m12", "N", analysis="pp", arm="Placebo") == 23
    assert store.get("responder_m12", "N", analysis="pp", arm="Placebo")["population"] == "PP"


def test_adjusted_country_against_statsmodels_margeff(trial):
    import statsmodels.formula.api as smf

    d = coprimary.responder_data(trial).dropna(subset=["RESPONDER"])
    d = d.assign(T=(d["ARM"] == "Cells").astype(int))
    assert d.groupby("COUNTRY")["RESPONDER"].nunique().min() == 2  # no pooling needed
    fit = coprimary.logistic_adjusted(d, "Cells", "Placebo", min_stratum=1)
    assert fit["n_strata"] == 3 and fit["converged"]
    res = smf.logit("RESPONDER ~ T + C(COUNTRY)", data=d).fit(disp=0)
    assert fit["odds_ratio"][0] == pytest.approx(math.exp(res.params["T"]), rel=1e-5)
    ci = np.exp(res.conf_int().loc["T"].to_numpy())
    assert fit["odds_ratio"][1:] == pytest.approx(tuple(ci), rel=1e-5)
    assert fit["p_value"] == pytest.approx(res.pvalues["T"], rel=1e-4)
    me = res.get_margeff(at="overall", dummy=True).summary_frame().loc["T"]
    rd = fit["risk_difference"]
    assert rd[0] == pytest.approx(me["dy/dx"], rel=1e-4)
    assert rd[2] - rd[0] == pytest.approx(1.959964 * me["Std. Err."], rel=1e-3)


def test_adjusted_country_in_store_uses_pooled_strata(trial, store):
    # fixture countries have 13-17 evaluable patients (< 20): pooled into a single stratum,
    # so the "adjusted" odds ratio equals the crude one
    assert store.value("responder_m12", "n_strata", analysis="adjusted_country", arm=CON) == 1
    o = store.value("responder_m12", "odds_ratio", analysis="adjusted_country", arm=CON)
    assert o == pytest.approx(15 * 15 / (5 * 10), rel=1e-6)


def test_pool_strata():
    lev = pd.Series(["A"] * 25 + ["B"] * 25 + ["C"] * 6 + ["D"] * 30)
    y = pd.Series([1, 0] * 12 + [1] + [1, 0] * 12 + [0] + [1, 0] * 3 + [1] * 30)
    out = coprimary.pool_strata(lev, y, min_size=20)
    # C is small, D has no variation -> pooled together (36 patients, varies)
    assert sorted(out.unique()) == ["A", "B", coprimary.OTHER]
    assert (out == coprimary.OTHER).sum() == 36
    # a pooled stratum without variation is merged into the largest remaining stratum
    y2 = pd.Series([1, 0] * 12 + [1] + [1, 0] * 12 + [0] + [1] * 36)
    out2 = coprimary.pool_strata(lev, y2, min_size=20)
    assert sorted(out2.unique()) == ["A", "B"]
    assert (out2 == "A").sum() == 25 + 36


def test_multiple_imputation(store):
    v = store.value
    assert v("responder_m12", "n_imputations", analysis="mi") == 50
    # the missing Cells patients improved 30 % on VAS (>= 20 mm) and 20 % on ODI by month 6:
    # MI must impute responders among them, so Cells % lies between NRI (50) and 100
    pct = v("responder_m12", "percent", analysis="mi", arm="Cells")
    assert 50 < pct < 100
    rd = store.get("responder_m12", "risk_difference", analysis="mi", arm=CON)
    assert rd["lower"] < rd["value"] < rd["upper"]
    assert 0 < v("responder_m12", "fmi", analysis="mi", arm=CON) < 1


def test_bayes_rows(store):
    v = store.value
    assert v("responder_m12", "prior_a", analysis="bayes") == 1
    post_mean = v("responder_m12", "posterior_mean", analysis="bayes", arm=CON)
    assert post_mean == pytest.approx(100 * (16 / 22 - 11 / 27))
    assert 0.95 < v("responder_m12", "prob_better", analysis="bayes", arm=CON) < 1


def test_tipping_point_grid(store):
    g = coprimary.tipping_label(1.0, 0.0)
    r = store.get("responder_m12", "risk_difference", analysis="tipping_point", arm=CON, group=g)
    assert r["value"] == pytest.approx(100 * (25 / 30 - 10 / 30))
    g = coprimary.tipping_label(0.0, 1.0)  # all missing Cells fail, all missing Placebo respond
    p = store.value("responder_m12", "p_value", analysis="tipping_point", arm=CON, group=g)
    assert p == pytest.approx(chisq_yates(15, 30, 15, 30)[1])
    grid = coprimary.tipping_grid(store, "Cells", "Placebo")
    assert grid.shape == (11, 11)
    # 0.5 x 10 missing = 5 extra Cells responders, round(0.5 x 5) = 2 extra Placebo
    assert grid.loc[0.5, 0.5] == pytest.approx(chisq_yates(20, 30, 12, 30)[1])
    n_sig = store.value("responder_m12", "n_significant", analysis="tipping_point", arm=CON,
                        group="favours_exp")
    assert n_sig == int((grid.to_numpy() < 0.05).sum()) - store.value(
        "responder_m12", "n_significant", analysis="tipping_point", arm=CON, group="favours_ctl")


def test_t2_ancova_and_descriptives(trial, store):
    d = coprimary.t2_data(trial)
    fit = ancova(d, "T2", "ARM", list(ARMS), "Placebo", baseline="BASE_T2",
                 factors=["COUNTRY"])
    md = store.get("t2", "mean_difference", arm=CON)
    assert md["value"] == pytest.approx(fit.contrasts["Cells"].estimate)
    assert md["n"] == 45
    cells = d[d["ARM"] == "Cells"]
    assert store.value("t2", "mean", analysis="descriptive", arm="Cells", visit=0) == \
        pytest.approx(cells["BASE_T2"].mean())
    chg = store.get("t2", "mean", analysis="descriptive", arm="Cells", visit=12, group="change")
    assert chg["value"] == pytest.approx((cells["T2"] - cells["BASE_T2"]).mean())
    assert chg["n"] == 20


def test_decision_rule(store):
    # responders: RD 35 pp, Yates p ~ 0.04; T2: +5 ms built in -> both met on this fixture
    p_resp = store.value("responder_m12", "p_value", arm=CON)
    p_t2 = store.value("t2", "p_value", arm=CON)
    ok_resp = store.value("coprimary_decision", "success", arm=CON, group="responder_m12")
    assert ok_resp == float(p_resp < 0.05)
    assert store.value("coprimary_decision", "success", arm=CON, group="t2") == float(p_t2 < 0.05)
    overall = store.value("coprimary_decision", "success", arm=CON, group="")
    assert overall == float(p_resp < 0.05 and p_t2 < 0.05)
    sentence = coprimary.decision_sentence(store, "Cells", "Placebo")
    assert ("Both co-primary" in sentence) == bool(overall)
    assert "35.0 percentage points" in sentence
    assert "p < 0.001" in sentence  # T2 effect is large on this fixture


def test_p_text():
    assert coprimary.p_text(0.7747) == "p = 0.77"
    assert coprimary.p_text(1e-5) == "p < 0.001"


def test_decision_fails_when_one_endpoint_fails(trial):
    rows = coprimary.compute(trial)
    for r in rows:
        if r["endpoint"] == "t2" and r["statistic"] == "p_value":
            r["value"] = 0.5
    dec = coprimary.decision_rows([r for r in rows if r["endpoint"] != "coprimary_decision"],
                                  trial)
    overall = [r for r in dec if r["statistic"] == "success" and r["group"] == ""]
    assert overall[0]["value"] == 0.0


def test_tables_narrow_and_from_store(trial, store):
    tabs = coprimary.tables(trial, store)
    assert set(tabs) >= {"coprimary_estimands", "coprimary_responders", "coprimary_effects",
                         "coprimary_t2"}
    for name, df in tabs.items():
        if not name.startswith("coprimary_tipping"):
            assert df.shape[1] <= 7, name
    resp = tabs["coprimary_responders"]
    assert list(resp.columns[1:3]) == ["Cells", "Placebo"]
    first = resp.iloc[0]
    assert first["Cells"] == "15/20 (75%)"
    assert first["p"] == fmt_p(chisq_yates(15, 20, 10, 25)[1]) == "0.041"
    assert len(resp) == len(coprimary.ANALYSES)


def test_figures_and_write_outputs(trial, store, tmp_path):
    import matplotlib.pyplot as plt

    from analysis.displays.figio import save_figure

    figs = coprimary.figures(trial, store)
    assert set(figs) == {"coprimary_forest", "coprimary_tipping", "coprimary_t2"}
    forest_ax = figs["coprimary_forest"].axes[0]
    assert len(forest_ax.get_yticklabels()) == len(coprimary.ANALYSES)
    for name, fig in figs.items():
        paths = save_figure(fig, tmp_path / name)
        assert all(p.stat().st_size > 0 for p in paths)
        plt.close(fig)


def test_compute_is_deterministic(trial):
    a = ResultsStore.empty().add(coprimary.compute(trial)).sorted().table
    b = ResultsStore.empty().add(coprimary.compute(trial)).sorted().table
    pd.testing.assert_frame_equal(a, b)


def test_published_counts_on_default_data():
    from pathlib import Path

    from analysis.data import load_trial

    data = Path(__file__).resolve().parents[1] / "data" / "synthetic"
    t = load_trial(data)
    exp, ctl = t.arms[0], t.control_arm
    s = ResultsStore.empty().add(coprimary.compute(t))
    assert s.value("responder_m12", "n_responders", arm=exp) == 37
    assert s.value("responder_m12", "N", arm=exp) == 50
    assert s.value("responder_m12", "n_responders", arm=ctl) == 34
    assert s.value("responder_m12", "N", arm=ctl) == 49
    p = s.value("responder_m12", "p_value", arm=f"{exp} vs {ctl}")
    assert round(p, 4) == 0.7747
    assert fmt_p(p) == "0.77"
    assert s.value("responder_m12", "percent", arm=exp) == pytest.approx(74.0)
    assert round(s.value("responder_m12", "percent", arm=ctl)) == 69
    assert s.value("responder_m12", "N", analysis="nri", arm=exp) == 58
    assert s.value("responder_m12", "N", analysis="nri", arm=ctl) == 56


def test_estimand_population_is_the_randomised_not_the_analysed_subset():
    t = coprimary.estimand_table(("Cells", "Placebo"), "Placebo").set_index("Attribute")
    t2 = t["MRI T2 at month 12"]
    assert "all randomised" in t2["Population"] and "MRI" not in t2["Population"]
    assert t2["Missing month-12 data"].startswith("Complete cases")
