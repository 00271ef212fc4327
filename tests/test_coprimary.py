"""Single-visit family on a small hand-built trial with its own specification (invented arm,
parameter and covariate names), the three-arm fixture and the default trial's store."""

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.displays.formatting import fmt_p
from analysis.families import coprimary, decision
from analysis.results import ResultsStore
from analysis.spec import load_spec
from analysis.stats.ancova import ancova
from analysis.stats.binary import chisq_yates, newcombe_rd_ci, odds_ratio, risk_ratio

ROOT = Path(__file__).resolve().parents[1]
ARMS = ("Cells", "Placebo")
CON = "Cells vs Placebo"
# per arm: (responders, non-responders, missing at the primary visit)
DESIGN = {"Cells": (15, 5, 10), "Placebo": (10, 15, 5)}

SPEC = """
spec_version: 1
trial: {short_name: HAND, title: A hand-built test trial}
data: {folder: data}
arms:
  - {label: Cells, order: 1}
  - {label: Placebo, control: true, order: 2}
visits:
  unit: months
  baseline: 0
  primary: 12
  schedule:
    - {avisitn: 0, label: Baseline, time: 0}
    - {avisitn: 1, label: Month 1, time: 1}
    - {avisitn: 3, label: Month 3, time: 3}
    - {avisitn: 6, label: Month 6, time: 6}
    - {avisitn: 12, label: Month 12, time: 12}
populations:
  itt: {flag: ITTFL, label: All randomised}
  per_protocol: {flag: PPROTFL, label: Per-protocol population}
covariates:
  adjustment:
    - {column: REGION, type: categorical, label: Region, pool_below: 20}
endpoints:
  - {id: resp, label: Responder at the final visit, short_label: Responder, role: primary,
     kind: binary_responder, rule: rule, visit: 12,
     sensitivity: {non_responder_imputation: true, per_protocol: true, adjusted: true,
                   multiple_imputation: {imputations: 50, iterations: 10, donors: 5,
                                         seed: 7, predictor_visits: [0, 1, 3, 6]},
                   tipping_point: {rates: [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9,
                                           1.0]},
                   bayes: {prior: [1, 1]}}}
  - {id: struct, label: Structure score, short_label: Structure, role: primary,
     kind: single_visit_continuous, dataset: adimg, paramcd: STRUCT, unit: ms,
     direction: higher_is_better, visit: 12}
  - {id: pain, label: Pain, role: secondary, kind: repeated_continuous, dataset: adqs,
     paramcd: PAIN, direction: lower_is_better}
  - {id: func, label: Function, role: secondary, kind: repeated_continuous, dataset: adqs,
     paramcd: FUNC, direction: lower_is_better}
  - {id: resp6, label: Responder at month 6, role: exploratory, kind: binary_responder,
     rule: rule, visit: 6}
responder_rules:
  rule:
    condition:
      any:
        - {endpoint: pain, improvement: {percent: 20, absolute: 20}}
        - {endpoint: func, improvement: {percent: 20}}
decision:
  endpoints: [resp, struct]
  rule: all
  alpha: 0.05
"""


def plain(md) -> str:
    """Markdown prose without its escapes (``35\\.0`` -> ``35.0``)."""
    return re.sub(r"\\(.)", r"\1", str(md))


class HandTrial:
    """The attributes of :class:`analysis.data.Trial` that the family uses."""

    def __init__(self, spec, **tables):
        self.spec = spec
        self.tables = tables
        self.arms = spec.arm_labels
        self.control_arm = spec.control_arm
        self.experimental_arms = spec.experimental_arms
        self.adsl = tables["adsl"]

    def dataset(self, name):
        return self.tables.get(name, pd.DataFrame())


def make_trial(spec):
    rng = np.random.default_rng(11)
    adsl, adqs, adimg = [], [], []
    k = 0
    for arm, (resp, nonresp, miss) in DESIGN.items():
        kinds = ["R"] * resp + ["N"] * nonresp + ["M"] * miss
        for i, kind in enumerate(kinds):
            k += 1
            uid = f"S{k:03d}"
            region = ["North", "South", "East"][k % 3]
            adsl.append({"USUBJID": uid, "TRT01P": arm, "REGION": region, "ITTFL": "Y",
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
                adqs.append({"USUBJID": uid, "PARAMCD": "PAIN", "AVISITN": v,
                             "AVAL": round(bv * f_v + jitter, 1)})
                adqs.append({"USUBJID": uid, "PARAMCD": "FUNC", "AVISITN": v,
                             "AVAL": round(bo * f_o + jitter, 1)})
            base = 80 + rng.normal(0, 10)
            adimg.append({"USUBJID": uid, "PARAMCD": "STRUCT", "AVISITN": 0, "AVAL": base})
            if kind != "M":
                y = 10 + 0.9 * base + (5 if arm == "Cells" else 0) + rng.normal(0, 4)
                adimg.append({"USUBJID": uid, "PARAMCD": "STRUCT", "AVISITN": 12, "AVAL": y})
    return HandTrial(spec, adsl=pd.DataFrame(adsl), adqs=pd.DataFrame(adqs),
                     adimg=pd.DataFrame(adimg))


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    path = tmp_path_factory.mktemp("hand") / "trial.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return load_spec(path)


@pytest.fixture(scope="module")
def trial(spec):
    return make_trial(spec)


@pytest.fixture(scope="module")
def store(trial):
    s = ResultsStore.empty().add(coprimary.compute(trial))
    return s.add(decision.compute(trial, s))


def test_fixture_derivation_matches_design(trial):
    d = coprimary.responder_data(trial, "resp")
    for arm, (resp, nonresp, miss) in DESIGN.items():
        g = d[d["ARM"] == arm]
        assert (g["RESPONDER"] == 1).sum() == resp
        assert (g["RESPONDER"] == 0).sum() == nonresp
        assert g["RESPONDER"].isna().sum() == miss


def test_primary_observed_cases(store):
    v = store.value
    assert v("resp", "n_responders", arm="Cells") == 15
    assert v("resp", "N", arm="Cells") == 20
    assert v("resp", "n_missing", arm="Cells") == 10
    assert v("resp", "percent", arm="Placebo") == pytest.approx(40.0)
    rd, lo, hi = newcombe_rd_ci(15, 20, 10, 25)
    r = store.get("resp", "risk_difference", arm=CON)
    assert (r["value"], r["lower"], r["upper"]) == pytest.approx((100 * rd, 100 * lo, 100 * hi))
    assert r["value"] == pytest.approx(35.0)
    assert r["visit"] == "12" and r["population"] == "ITT"
    assert v("resp", "p_value", arm=CON) == pytest.approx(chisq_yates(15, 20, 10, 25)[1])
    rr = store.get("resp", "risk_ratio", arm=CON)
    assert (rr["value"], rr["lower"], rr["upper"]) == pytest.approx(risk_ratio(15, 20, 10, 25))
    o = store.get("resp", "odds_ratio", arm=CON)
    assert o["value"] == pytest.approx(15 * 15 / (5 * 10))
    assert (o["lower"], o["upper"]) == pytest.approx(odds_ratio(15, 20, 10, 25)[1:])


def test_nondecision_endpoint_gets_only_its_primary_analysis(store):
    # resp6 declares no sensitivity analyses: observed cases only, at its own visit
    assert set(store.select("resp6")["analysis"]) == {"primary"}
    assert set(store.select("resp6")["visit"]) == {"6"}


def test_nri_and_pp(store):
    v = store.value
    assert v("resp", "N", analysis="nri", arm="Cells") == 30
    assert v("resp", "percent", analysis="nri", arm="Cells") == pytest.approx(50.0)
    assert v("resp", "risk_difference", analysis="nri", arm=CON) == pytest.approx(
        100 * (15 / 30 - 10 / 30))
    assert v("resp", "n_responders", analysis="pp", arm="Cells") == 13
    assert v("resp", "N", analysis="pp", arm="Placebo") == 23
    assert store.get("resp", "N", analysis="pp", arm="Placebo")["population"] == "PP"


def test_adjusted_against_statsmodels_margeff(trial, spec):
    import statsmodels.formula.api as smf

    from analysis.spec.model import Covariate

    d = coprimary.responder_data(trial, "resp").dropna(subset=["RESPONDER"])
    d = d.assign(T=(d["ARM"] == "Cells").astype(int))
    assert d.groupby("REGION")["RESPONDER"].nunique().min() == 2  # no pooling needed
    cov = Covariate(column="REGION", type="categorical", label="Region", pool_below=1)
    fit = coprimary.logistic_adjusted(d, "Cells", "Placebo", [cov])
    assert fit["n_strata"] == 3 and fit["converged"]
    res = smf.logit("RESPONDER ~ T + C(REGION)", data=d).fit(disp=0)
    assert fit["odds_ratio"][0] == pytest.approx(math.exp(res.params["T"]), rel=1e-5)
    ci = np.exp(res.conf_int().loc["T"].to_numpy())
    assert fit["odds_ratio"][1:] == pytest.approx(tuple(ci), rel=1e-5)
    assert fit["p_value"] == pytest.approx(res.pvalues["T"], rel=1e-4)
    me = res.get_margeff(at="overall", dummy=True).summary_frame().loc["T"]
    rd = fit["risk_difference"]
    assert rd[0] == pytest.approx(me["dy/dx"], rel=1e-4)
    assert rd[2] - rd[0] == pytest.approx(1.959964 * me["Std. Err."], rel=1e-3)
    # a continuous covariate enters as one coefficient
    d = d.assign(AGE=np.arange(len(d)) % 7 + 30.0)
    age = Covariate(column="AGE", type="continuous", label="Age")
    fit2 = coprimary.logistic_adjusted(d, "Cells", "Placebo", [cov, age])
    res2 = smf.logit("RESPONDER ~ T + AGE + C(REGION)", data=d).fit(disp=0)
    assert fit2["odds_ratio"][0] == pytest.approx(math.exp(res2.params["T"]), rel=1e-5)


def test_adjusted_in_store_uses_pooled_strata(store):
    # fixture regions have 13-17 evaluable patients (< pool_below 20): pooled into a single
    # stratum, so the "adjusted" odds ratio equals the crude one
    assert store.value("resp", "n_strata", analysis="adjusted", arm=CON) == 1
    assert store.value("resp", "min_stratum", analysis="adjusted") == 20
    o = store.value("resp", "odds_ratio", analysis="adjusted", arm=CON)
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
    assert v("resp", "n_imputations", analysis="mi") == 50
    # the missing Cells patients improved 30 % on pain (>= 20 points) and 20 % on function by
    # month 6: MI must impute responders among them, so Cells % lies between NRI (50) and 100
    pct = v("resp", "percent", analysis="mi", arm="Cells")
    assert 50 < pct < 100
    rd = store.get("resp", "risk_difference", analysis="mi", arm=CON)
    assert rd["lower"] < rd["value"] < rd["upper"]
    assert 0 < v("resp", "fmi", analysis="mi", arm=CON) < 1


def test_mi_settings_default_predictor_visits(spec):
    s = coprimary.mi_settings(spec, "resp")
    assert s["visits"] == [0, 1, 3, 6, 12] and s["seed"] == 7
    # resp6 declares nothing: defaults, and every scheduled visit before month 6
    s6 = coprimary.mi_settings(spec, "resp6")
    assert s6["visits"] == [0, 1, 3, 6] and s6["imputations"] == 50


def test_bayes_rows(store):
    v = store.value
    assert v("resp", "prior_a", analysis="bayes") == 1
    post_mean = v("resp", "posterior_mean", analysis="bayes", arm=CON)
    assert post_mean == pytest.approx(100 * (16 / 22 - 11 / 27))
    assert 0.95 < v("resp", "prob_better", analysis="bayes", arm=CON) < 1


def test_tipping_point_grid(store):
    g = coprimary.tipping_label(1.0, 0.0)
    assert g == "p_exp=1.0;p_ctl=0.0"
    r = store.get("resp", "risk_difference", analysis="tipping_point", arm=CON, group=g)
    assert r["value"] == pytest.approx(100 * (25 / 30 - 10 / 30))
    g = coprimary.tipping_label(0.0, 1.0)  # all missing Cells fail, all missing Placebo respond
    p = store.value("resp", "p_value", analysis="tipping_point", arm=CON, group=g)
    assert p == pytest.approx(chisq_yates(15, 30, 15, 30)[1])
    grid = coprimary.tipping_grid(store, "Cells", "Placebo", "resp")
    assert grid.shape == (11, 11)
    # 0.5 x 10 missing = 5 extra Cells responders, round(0.5 x 5) = 2 extra Placebo
    assert grid.loc[0.5, 0.5] == pytest.approx(chisq_yates(20, 30, 12, 30)[1])
    n_sig = store.value("resp", "n_significant", analysis="tipping_point", arm=CON,
                        group="favours_exp")
    assert n_sig == int((grid.to_numpy() < 0.05).sum()) - store.value(
        "resp", "n_significant", analysis="tipping_point", arm=CON, group="favours_ctl")


def test_continuous_ancova_and_descriptives(trial, store):
    d = coprimary.continuous_data(trial, "struct")
    fit = ancova(d, "AVAL", "ARM", list(ARMS), "Placebo", baseline="BASE", factors=["REGION"])
    md = store.get("struct", "mean_difference", arm=CON)
    assert md["value"] == pytest.approx(fit.contrasts["Cells"].estimate)
    assert md["n"] == 45 and md["visit"] == "12"
    cells = d[d["ARM"] == "Cells"]
    assert store.value("struct", "mean", analysis="descriptive", arm="Cells", visit=0) == \
        pytest.approx(cells["BASE"].mean())
    chg = store.get("struct", "mean", analysis="descriptive", arm="Cells", visit=12,
                    group="change")
    assert chg["value"] == pytest.approx((cells["AVAL"] - cells["BASE"]).mean())
    assert chg["n"] == 20


def test_ancova_with_a_continuous_covariate_matches_statsmodels(trial):
    import statsmodels.formula.api as smf

    d = coprimary.continuous_data(trial, "struct").dropna()
    d = d.assign(AGE=np.arange(len(d)) % 9 + 40.0)
    fit = ancova(d, "AVAL", "ARM", list(ARMS), "Placebo", baseline="BASE", factors=["REGION"],
                 covariates=["AGE"])
    res = smf.ols("AVAL ~ C(ARM, Treatment('Placebo')) + BASE + AGE + C(REGION)", d).fit()
    name = "C(ARM, Treatment('Placebo'))[T.Cells]"
    assert fit.contrasts["Cells"].estimate == pytest.approx(res.params[name])
    assert fit.contrasts["Cells"].p_value == pytest.approx(res.pvalues[name])


def test_decision_rule(store, spec):
    # responders: RD 35 pp, Yates p ~ 0.04; structure: +5 built in -> both met on this fixture
    p_resp = store.value("resp", "p_value", arm=CON)
    p_struct = store.value("struct", "p_value", arm=CON)
    assert p_resp < 0.05 and p_struct < 0.001
    assert store.value("coprimary_decision", "success", arm=CON, group="resp") == 1
    assert store.value("coprimary_decision", "success", arm=CON, group="struct") == 1
    assert store.value("coprimary_decision", "success", arm=CON, group="") == 1
    assert store.value("coprimary_decision", "alpha") == 0.05
    sentence = plain(decision.decision_sentence(store, "Cells", "Placebo", spec))
    assert sentence.startswith("Both co-primary endpoints met the success criterion")
    assert "risk difference 35.0 percentage points" in sentence
    assert "p < 0.001" in sentence  # the structural effect is large on this fixture
    assert sentence.count("meeting its criterion") == 2


def test_p_text():
    assert coprimary.p_text(0.7747) == "p = 0.77"
    assert coprimary.p_text(1e-5) == "p < 0.001"


def test_decision_fails_when_one_endpoint_fails(trial, spec):
    rows = coprimary.compute(trial)
    for r in rows:
        if r["endpoint"] == "struct" and r["statistic"] == "p_value":
            r["value"] = 0.5
    dec = decision.compute(trial, rows)
    overall = [r for r in dec if r["statistic"] == "success" and r["group"] == ""]
    assert overall[0]["value"] == 0.0
    s = ResultsStore.empty().add(rows + dec)
    sentence = plain(decision.decision_sentence(s, "Cells", "Placebo", spec))
    assert sentence.startswith("The trial did not meet its co-primary success criterion")


def test_tables_from_store(trial, store):
    tabs = coprimary.tables(trial, store)
    assert set(tabs) == {"coprimary_estimands", "coprimary_responders", "coprimary_effects",
                         "coprimary_struct", "coprimary_tipping_p", "single_visit_responders"}
    for name, df in tabs.items():
        if not name.startswith("coprimary_tipping"):
            assert df.shape[1] <= 7, name
    resp = tabs["coprimary_responders"]
    assert list(resp.columns[1:3]) == ["Cells", "Placebo"]
    first = resp.iloc[0]
    assert first["Cells"] == "15/20 (75%)"
    assert first["p"] == fmt_p(chisq_yates(15, 20, 10, 25)[1]) == "0.041"
    assert len(resp) == len(coprimary.ANALYSES)
    assert "Adjusted for region" in set(resp["Analysis"])
    eff = tabs["coprimary_effects"]
    assert "Odds ratio, adjusted for region" in set(eff["Measure"])
    cont = tabs["coprimary_struct"]
    assert list(cont.columns) == ["Arm", "Baseline", "Month 12", "Change",
                                  "Adjusted mean (95% CI)"]
    est = tabs["coprimary_estimands"]
    assert list(est.columns) == ["Attribute", "Responder at the final visit", "Structure score"]
    assert est.iloc[0, 1] == "All randomised"
    # the non-decision endpoint has its own table, primary analysis only
    assert list(tabs["single_visit_responders"]["Analysis"]) == ["Primary (observed)"]


def test_figures_and_write_outputs(trial, store, tmp_path):
    import matplotlib.pyplot as plt

    from analysis.displays.figio import save_figure

    figs = coprimary.figures(trial, store)
    assert set(figs) == {"coprimary_forest", "coprimary_tipping", "coprimary_struct"}
    forest_ax = figs["coprimary_forest"].axes[0]
    assert len(forest_ax.get_yticklabels()) == len(coprimary.ANALYSES)
    assert figs["coprimary_struct"].axes[0].get_ylabel() == "Structure (ms)"
    for name, fig in figs.items():
        paths = save_figure(fig, tmp_path / name)
        assert all(p.stat().st_size > 0 for p in paths)
        plt.close(fig)


def test_prose_from_store(store, spec):
    text = plain(coprimary.responder_summary(store, spec, ARMS, "Placebo"))
    assert "15 of 20 Cells patients (75%)" in text
    assert "35.0 percentage points" in text
    cont = plain(coprimary.continuous_summary(store, spec, ARMS, "Placebo"))
    assert "Adjusted for the baseline value and region" in cont
    sens = plain(coprimary.sensitivity_summary(store, spec, ARMS, "Placebo"))
    assert "Non-responder imputation: 16.7 percentage points" in sens
    tip = coprimary.tipping_sentence(store, "Cells", "Placebo", spec=spec)
    assert "over 121 combinations" in tip and "at month 12" in tip


def test_compute_is_deterministic(trial):
    a = ResultsStore.empty().add(coprimary.compute(trial)).sorted().table
    b = ResultsStore.empty().add(coprimary.compute(trial)).sorted().table
    pd.testing.assert_frame_equal(a, b)


def test_plots_module_does_not_import_the_family():
    src = (ROOT / "analysis" / "displays" / "coprimary_plots.py").read_text()
    assert "analysis.families" not in src


# ---------------------------------------------------------------- three arms
@pytest.fixture(scope="module")
def three():
    from analysis.data import load_trial

    fx = ROOT / "tests" / "fixtures" / "three_arm"
    return load_trial(fx / "data", spec=load_spec(fx / "trial.yaml"), minimum=False)


def test_three_arms_one_contrast_per_experimental_arm(three):
    # hand-evaluated rule at week 8: (score improved >= 30 % and >= 5) or quality of life
    # improved >= 10. Drug A: S01 yes (20 -> 12), S02 yes (quality +15), S03 missing (score
    # fails, quality missing); Drug B: S04 no (4 < 5), S05 yes (30 %, 9), S06 yes (quality
    # +15); Placebo: S07 no, S08 no (baseline 0), S09 yes (22 -> 15)
    s = ResultsStore.empty().add(coprimary.compute(three))
    counts = {"Drug A": (2, 2, 1), "Drug B": (2, 3, 0), "Placebo": (1, 3, 0)}
    for arm, (x, n, miss) in counts.items():
        assert s.value("responder_w8", "n_responders", arm=arm) == x
        assert s.value("responder_w8", "N", arm=arm) == n
        assert s.value("responder_w8", "n_missing", arm=arm) == miss
    for arm in ("Drug A", "Drug B"):
        c = f"{arm} vs Placebo"
        x, n, _ = counts[arm]
        rd = s.get("responder_w8", "risk_difference", arm=c)
        exp = newcombe_rd_ci(x, n, 1, 3)
        assert (rd["value"], rd["lower"], rd["upper"]) == pytest.approx(
            tuple(100 * v for v in exp))
        assert s.value("responder_w8", "p_value", arm=c) == pytest.approx(
            chisq_yates(x, n, 1, 3)[1])
    assert set(s.select("responder_w8", statistic="risk_difference")["arm"]) == {
        "Drug A vs Placebo", "Drug B vs Placebo"}
    tabs = coprimary.tables(three, s)
    resp = tabs["coprimary_responders"]  # responder_w8 is in the decision rule
    assert {"Contrast", "Drug A", "Drug B", "Placebo"} <= set(resp.columns)
    assert len(resp) == 2
    figs = coprimary.figures(three, s)
    assert set(figs) == {"coprimary_forest"}
    import matplotlib.pyplot as plt

    plt.close("all")


# ---------------------------------------------------------------- the default trial
def test_published_counts_on_default_data():
    from analysis.data import load_trial

    t = load_trial(spec=load_spec(ROOT / "trials" / "respine" / "trial.yaml"))
    exp, ctl = t.arms[0], t.control_arm
    s = ResultsStore.empty().add(coprimary.compute(t))
    ep = t.spec.decision.endpoints[0]
    assert s.value(ep, "n_responders", arm=exp) == 37
    assert s.value(ep, "N", arm=exp) == 50
    assert s.value(ep, "n_responders", arm=ctl) == 34
    assert s.value(ep, "N", arm=ctl) == 49
    p = s.value(ep, "p_value", arm=f"{exp} vs {ctl}")
    assert round(p, 4) == 0.7747
    assert fmt_p(p) == "0.77"
    assert s.value(ep, "percent", arm=exp) == pytest.approx(74.0)
    assert round(s.value(ep, "percent", arm=ctl)) == 69
    assert s.value(ep, "N", analysis="nri", arm=exp) == 58
    assert s.value(ep, "N", analysis="nri", arm=ctl) == 56
    # every row of the family (and the decision) equals the store before the specification
    s = s.add(decision.compute(t, s))
    _same_as_before(s)


def _same_as_before(store):
    key = ["endpoint", "analysis", "population", "visit", "arm", "group", "statistic"]
    old = pd.read_csv(ROOT / "tests" / "fixtures" / "respine_store_before.csv",
                      dtype={k: str for k in key}, keep_default_na=False)
    new = store.table.copy()
    old = old[old["endpoint"].isin(set(new["endpoint"]))].copy()
    # renamed key (/work/notes/renames.md): the adjusted analysis no longer names a covariate
    old["analysis"] = old["analysis"].replace({"adjusted_country": "adjusted"})
    m = old.merge(new, on=key, how="outer", suffixes=("_old", "_new"), indicator=True)
    assert (m["_merge"] == "both").all(), m.loc[m["_merge"] != "both", key].to_string()
    for col in ("value", "lower", "upper", "n"):
        o = pd.to_numeric(m[f"{col}_old"], errors="coerce").to_numpy(float)
        n = pd.to_numeric(m[f"{col}_new"], errors="coerce").to_numpy(float)
        assert np.allclose(o, n, rtol=1e-9, atol=1e-12, equal_nan=True), col
