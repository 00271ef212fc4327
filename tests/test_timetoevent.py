"""Tests of visit-based event times, Kaplan-Meier, log-rank and Cox."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg

from analysis.stats.timetoevent import (
    cox,
    first_response_times,
    km_at,
    km_table,
    logrank,
    median_time,
)


def _adqs(records):
    """records: (subject, visit, vas, odi); NaN = not measured."""
    rows = []
    for s, v, vas, odi in records:
        for code, val in (("VAS", vas), ("ODI", odi)):
            if not np.isnan(val):
                rows.append({"USUBJID": s, "PARAMCD": code, "AVISITN": v, "AVAL": val})
    return pd.DataFrame(rows)


NAN = float("nan")


def test_first_response_times_event_censoring_and_gaps():
    adqs = _adqs([
        # s1: responder first at month 3 (VAS 70 -> 45: -25 mm, -36 %)
        ("s1", 0, 70, 40), ("s1", 1, 65, 38), ("s1", 3, 45, 38), ("s1", 6, 70, 40),
        # s2: never responds; last evaluable visit month 6 (month 12 missing)
        ("s2", 0, 60, 50), ("s2", 1, 55, 45), ("s2", 6, 58, 48),
        # s3: month 1 missing, responds via ODI at month 6 (50 -> 40 = 20 %)
        ("s3", 0, 60, 50), ("s3", 6, 60, 40),
        # s4: only baseline -> dropped
        ("s4", 0, 60, 50),
        # s5: month 1 VAS missing and ODI not improved -> not evaluable; month 3 evaluable no
        ("s5", 0, 60, 50), ("s5", 1, NAN, 49), ("s5", 3, 59, 49),
        # s6: month 1 not evaluable but ODI improved -> responder at month 1 (True OR NaN)
        ("s6", 0, 60, 50), ("s6", 1, NAN, 30),
    ])
    subjects = pd.DataFrame({"USUBJID": ["s1", "s2", "s3", "s4", "s5", "s6"],
                             "TRT01P": ["A", "B", "A", "B", "A", "B"]})
    tte = first_response_times(adqs, subjects).set_index("USUBJID")
    # scheduled visits 1, 3, 6: follow-up stops at the first visit not evaluable
    assert list(tte.index) == ["s1", "s2", "s6"]  # s3, s5 missed month 1; s4 no follow-up
    assert tte.loc["s1", ["time", "event", "n_assessed"]].tolist() == [3.0, 1, 2]
    # s2 missed month 3: censored at month 1, its later month-6 visit is not used
    assert tte.loc["s2", ["time", "event", "n_assessed"]].tolist() == [1.0, 0, 1]
    assert tte.loc["s6", ["time", "event"]].tolist() == [1.0, 1]
    assert tte.loc["s1", "arm"] == "A"


def test_missed_visit_leaves_the_risk_set_so_km_matches_responders_by_visit():
    """Issue 13: a patient who missed month 1 was counted at risk there without an event.
    Now the KM cumulative response at the first visit is responders / assessed there, and
    a response after a gap is not dated to the later visit."""
    rec = []
    # 10 patients assessed at months 1 and 3; 4 respond at month 1, 2 more at month 3
    for i in range(10):
        m1 = 40 if i < 4 else 70
        m3 = 40 if i < 6 else 70
        rec += [(f"a{i}", 0, 70, 50), (f"a{i}", 1, m1, 50), (f"a{i}", 3, m3, 50)]
    # 3 patients miss month 1 and respond at month 3; 1 attends 1, misses 3, responds at 6
    for i in range(3):
        rec += [(f"b{i}", 0, 70, 50), (f"b{i}", 3, 40, 50)]
    rec += [("c0", 0, 70, 50), ("c0", 1, 70, 50), ("c0", 6, 40, 50)]
    adqs = _adqs(rec)
    ids = sorted({r[0] for r in rec})
    tte = first_response_times(adqs, pd.DataFrame({"USUBJID": ids, "TRT01P": "A"}),
                               visits=[1, 3, 6])
    assert set(tte.USUBJID) == {f"a{i}" for i in range(10)} | {"c0"}
    at = km_at(tte, "A", [1, 3]).set_index("time")
    assert at.loc[1, "at_risk"] == 11  # assessed at month 1
    assert 1 - at.loc[1, "survival"] == pytest.approx(4 / 11)  # = responders-by-visit
    # month 3: c0 censored at 1; 6 at risk, 2 events -> S = 7/11 * 4/6
    assert at.loc[3, "at_risk"] == 6
    assert at.loc[3, "survival"] == pytest.approx(7 / 11 * 4 / 6)


def _tte():
    return pd.DataFrame({
        "arm": ["A"] * 6 + ["B"] * 6,
        "time": [1, 1, 3, 3, 6, 12, 1, 3, 6, 6, 12, 12],
        "event": [1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1],
    })


def test_kaplan_meier_hand_computed():
    tab = km_table(_tte(), "A").set_index("time")
    # A: t=1: 6 at risk, 1 event -> 5/6; t=3: 4 at risk, 2 events -> 5/6*2/4;
    # t=6: censored; t=12: 1 at risk, 1 event -> 0
    assert tab["at_risk"].tolist() == [6, 4, 2, 1]
    assert tab.loc[1, "survival"] == pytest.approx(5 / 6)
    assert tab.loc[3, "survival"] == pytest.approx(5 / 12)
    assert tab.loc[6, "survival"] == pytest.approx(5 / 12)
    assert tab.loc[12, "survival"] == pytest.approx(0.0)
    at = km_at(_tte(), "A", [0, 2, 3]).set_index("time")
    assert at.loc[0, "survival"] == 1.0 and at.loc[0, "at_risk"] == 6
    assert at.loc[2, "survival"] == pytest.approx(5 / 6) and at.loc[2, "at_risk"] == 4
    assert median_time(_tte(), "A") == 3.0
    # Greenwood variance at t=1: S^2 * d/(n(n-d)) -> log-log limits contain the estimate
    assert tab.loc[1, "lower"] < 5 / 6 < tab.loc[1, "upper"]


def _logrank_by_hand(t1, e1, t2, e2):
    times = np.unique(np.r_[t1[e1 == 1], t2[e2 == 1]])
    o_minus_e, var = 0.0, 0.0
    for t in times:
        n1, n2 = (t1 >= t).sum(), (t2 >= t).sum()
        d1, d2 = ((t1 == t) & (e1 == 1)).sum(), ((t2 == t) & (e2 == 1)).sum()
        n, d = n1 + n2, d1 + d2
        o_minus_e += d1 - d * n1 / n
        if n > 1:
            var += d * (n1 / n) * (n2 / n) * (n - d) / (n - 1)
    chi2 = o_minus_e**2 / var
    return chi2, stats.chi2.sf(chi2, 1)


def test_logrank_equals_hand_formula():
    rng = np.random.default_rng(7)
    tte = pd.DataFrame({"arm": np.repeat(["A", "B"], 40),
                        "time": rng.choice([1.0, 3, 6, 12, 24], 80),
                        "event": rng.integers(0, 2, 80)})
    a, b = tte[tte.arm == "A"], tte[tte.arm == "B"]
    chi2, p = _logrank_by_hand(a.time.to_numpy(), a.event.to_numpy(),
                               b.time.to_numpy(), b.event.to_numpy())
    r = logrank(tte, "A", "B")
    assert r["statistic"] == pytest.approx(chi2, rel=1e-10)
    assert r["p_value"] == pytest.approx(p, rel=1e-10)


def test_cox_matches_statsmodels_efron():
    rng = np.random.default_rng(11)
    tte = pd.DataFrame({"arm": np.repeat(["A", "B"], 50),
                        "time": rng.choice([1.0, 3, 6, 12, 24], 100),
                        "event": rng.integers(0, 2, 100)})
    r = cox(tte, "A", "B")
    x = (tte.arm == "A").to_numpy(float)[:, None]
    sm = PHReg(tte.time.to_numpy(), x, status=tte.event.to_numpy(), ties="efron").fit()
    assert np.log(r["hr"]) == pytest.approx(sm.params[0], abs=1e-10)  # fully converged
    lo, hi = np.exp(sm.conf_int()[0])
    assert r["lower"] == pytest.approx(lo, rel=1e-4)
    assert r["upper"] == pytest.approx(hi, rel=1e-4)
    assert r["p_value"] == pytest.approx(sm.pvalues[0], rel=1e-4)
    assert r["n"] == 100 and r["events"] == tte.event.sum()
    assert 0 <= r["ph_p_value"] <= 1 and r["ph_statistic"] >= 0


def _tied_tte(seed=11, n=100):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"arm": np.repeat(["A", "B"], n // 2),
                         "time": rng.choice([1.0, 3, 6, 12, 24], n),
                         "event": rng.integers(0, 2, n)})


def test_cox_log_hr_fully_converged_against_statsmodels_efron():
    """lifelines' default precision leaves the log HR ~1e-7 off; the fit must be converged."""
    tte = _tied_tte(3, 120)
    x = (tte.arm == "A").to_numpy(float)[:, None]
    sm = PHReg(tte.time.to_numpy(), x, status=tte.event.to_numpy(), ties="efron").fit()
    # independent check that statsmodels itself is at the optimum: its score is ~0
    assert abs(sm.model.score(sm.params)[0]) < 1e-9
    assert np.log(cox(tte, "A", "B")["hr"]) == pytest.approx(sm.params[0], abs=1e-9)


def test_ph_test_does_not_depend_on_row_order():
    """Tied event times: a rank transform ranked them in row order (chi-square ranged over
    orders); the Kaplan-Meier transform gives every tied time one value."""
    tte = _tied_tte()
    ref = cox(tte, "A", "B")
    for k in range(8):
        shuffled = tte.sample(frac=1.0, random_state=k).reset_index(drop=True)
        r = cox(shuffled, "A", "B")
        assert r["ph_statistic"] == pytest.approx(ref["ph_statistic"], rel=1e-9, abs=1e-12)
        assert r["hr"] == pytest.approx(ref["hr"], rel=1e-12)


def test_ph_test_km_transform_hand_computed():
    """Grambsch-Therneau (1994) one-covariate statistic, written out: scaled Schoenfeld
    residuals r_k* = n_d V r_k (V = 1 / information), g_k = 1 - KM(t_k) of the pooled data,
    T = (sum (g_k - gbar) r_k*)^2 / (n_d V sum (g_k - gbar)^2)."""
    from lifelines import CoxPHFitter, KaplanMeierFitter

    tte = _tied_tte(5, 80)
    df = pd.DataFrame({"time": tte.time, "event": tte.event, "x": (tte.arm == "A") * 1.0})
    cph = CoxPHFitter().fit(df, "time", "event", fit_options={"precision": 1e-24,
                                                               "r_precision": 0.0})
    resid = cph.compute_residuals(df, "schoenfeld")["x"]  # per event, index = row
    ev = df.loc[resid.index]
    v = float(cph.variance_matrix_.iloc[0, 0])
    n_d = len(resid)
    km = KaplanMeierFitter().fit(df.time, df.event)
    g = 1 - km.survival_function_at_times(ev.time).to_numpy()
    gc = g - g.mean()
    scaled = n_d * v * resid.to_numpy()
    expected = (gc @ scaled) ** 2 / (n_d * v * (gc @ gc))
    assert cox(tte, "A", "B")["ph_statistic"] == pytest.approx(expected, rel=1e-8)
