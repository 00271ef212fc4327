"""Tests of event times derived from a responder rule (:func:`analysis.spec.rules.first_success`
with the example rule of trials/respine), Kaplan-Meier, log-rank and Cox."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg

from analysis.spec.load import load_spec
from analysis.spec.rules import first_success
from analysis.stats.timetoevent import cox, km_at, km_table, logrank, median_time

ROOT = Path(__file__).resolve().parents[1]
SPEC = load_spec(ROOT / "trials" / "respine" / "trial.yaml")
RULE = "respine_responder"


def _adqs(records):
    """records: (subject, visit, vas, odi); NaN = not measured."""
    rows = []
    for s, v, vas, odi in records:
        for code, val in (("VAS", vas), ("ODI", odi)):
            if not np.isnan(val):
                rows.append({"USUBJID": s, "PARAMCD": code, "AVISITN": v, "AVAL": val})
    return pd.DataFrame(rows)


def _responder(base_vas, vas, base_odi, odi) -> np.ndarray:
    """Hand-coded reference of the example rule: VAS improved by >= 20 % and >= 20 mm, or ODI
    improved by >= 20 %; Kleene OR of 1.0/0.0/NaN."""
    with np.errstate(invalid="ignore"):
        gv, go = base_vas - vas, base_odi - odi
        v = np.where(np.isnan(gv), np.nan,
                     ((gv >= 0.2 * base_vas - 1e-9) & (gv >= 20 - 1e-9) & (gv > 0)) * 1.0)
        o = np.where(np.isnan(go), np.nan,
                     ((go >= 0.2 * base_odi - 1e-9) & (go > 0) & (base_odi > 0)) * 1.0)
    out = np.full(len(v), np.nan)
    out[(v == 0) & (o == 0)] = 0.0
    out[(v == 1) | (o == 1)] = 1.0
    return out


def first_response_times(adqs, subjects, *, arm="TRT01P", visits=None) -> pd.DataFrame:
    """Reference implementation (independent of :mod:`analysis.spec.rules`): one row per
    subject followed, ``USUBJID, arm, time, event, n_assessed``; follow-up ends at the first
    response or at the first visit not evaluable (censored at the last evaluable one)."""
    q = adqs[adqs["USUBJID"].isin(subjects["USUBJID"])]
    wide = q.pivot_table(index=["USUBJID", "AVISITN"], columns="PARAMCD", values="AVAL",
                         aggfunc="first").reindex(columns=["VAS", "ODI"]).reset_index()
    base = wide[wide["AVISITN"] == 0].set_index("USUBJID")
    fu = wide[wide["AVISITN"] > 0]
    visits = sorted(pd.unique(fu["AVISITN"]).tolist()) if visits is None else list(visits)
    out = []
    for sid in sorted(set(subjects["USUBJID"])):
        followed, event = [], 0
        for v in visits:
            row = fu[(fu["USUBJID"] == sid) & (fu["AVISITN"] == v)]
            if row.empty or sid not in base.index:
                break
            r = _responder(np.array([base.loc[sid, "VAS"]]), row["VAS"].to_numpy(float),
                           np.array([base.loc[sid, "ODI"]]), row["ODI"].to_numpy(float))[0]
            if np.isnan(r):
                break
            followed.append(v)
            if r == 1.0:
                event = 1
                break
        if followed:
            out.append((sid, float(followed[-1]), event, len(followed)))
    res = pd.DataFrame(out, columns=["USUBJID", "time", "event", "n_assessed"])
    arms = subjects.drop_duplicates("USUBJID").set_index("USUBJID")[arm]
    res.insert(1, "arm", arms.reindex(res["USUBJID"]).to_numpy())
    return res


NAN = float("nan")
RECORDS = [
    # s1: responder first at month 3 (VAS 70 -> 45: -25 mm, -36 %)
    ("s1", 0, 70, 40), ("s1", 1, 65, 38), ("s1", 3, 45, 38), ("s1", 6, 70, 40),
    # s2: never responds; month 3 missing, month 6 attended
    ("s2", 0, 60, 50), ("s2", 1, 55, 45), ("s2", 6, 58, 48),
    # s3: month 1 missing, responds via ODI at month 6 (50 -> 40 = 20 %)
    ("s3", 0, 60, 50), ("s3", 6, 60, 40),
    # s4: only baseline -> dropped
    ("s4", 0, 60, 50),
    # s5: month 1 VAS missing and ODI not improved -> not evaluable; month 3 evaluable no
    ("s5", 0, 60, 50), ("s5", 1, NAN, 49), ("s5", 3, 59, 49),
    # s6: month 1 not evaluable but ODI improved -> responder at month 1 (True OR NaN)
    ("s6", 0, 60, 50), ("s6", 1, NAN, 30),
]


def test_first_success_event_censoring_and_gaps():
    adqs = _adqs(RECORDS)
    ids = ["s1", "s2", "s3", "s4", "s5", "s6"]
    tte = first_success(RULE, SPEC, {"adqs": adqs}, ids, visits=[1, 3, 6]).set_index("USUBJID")
    # follow-up stops at the first visit not evaluable
    assert list(tte.index) == ["s1", "s2", "s6"]  # s3, s5 missed month 1; s4 no follow-up
    assert tte.loc["s1", ["time", "event", "n_assessed"]].tolist() == [3.0, 1, 2]
    # s2 missed month 3: censored at month 1, its later month-6 visit is not used
    assert tte.loc["s2", ["time", "event", "n_assessed"]].tolist() == [1.0, 0, 1]
    assert tte.loc["s6", ["time", "event"]].tolist() == [1.0, 1]
    ref = first_response_times(adqs, pd.DataFrame({"USUBJID": ids, "TRT01P": "A"}),
                               visits=[1, 3, 6]).set_index("USUBJID")
    pd.testing.assert_frame_equal(tte[["time", "event", "n_assessed"]],
                                  ref[["time", "event", "n_assessed"]], check_dtype=False)


def test_first_success_skip_passes_over_missed_visits():
    adqs = _adqs(RECORDS)
    ids = ["s1", "s2", "s3", "s4", "s5", "s6"]
    tte = first_success(RULE, SPEC, {"adqs": adqs}, ids, visits=[1, 3, 6],
                        missed_visit="skip").set_index("USUBJID")
    assert list(tte.index) == ["s1", "s2", "s3", "s5", "s6"]
    assert tte.loc["s2", ["time", "event", "n_assessed"]].tolist() == [6.0, 0, 2]
    assert tte.loc["s3", ["time", "event", "n_assessed"]].tolist() == [6.0, 1, 1]
    assert tte.loc["s5", ["time", "event", "n_assessed"]].tolist() == [3.0, 0, 1]


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
    tte = first_success(RULE, SPEC, {"adqs": adqs}, ids, visits=[1, 3, 6]).assign(arm="A")
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
