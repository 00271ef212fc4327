"""Tests of the secondary-endpoint family on small fixture trials (2 and 3 arms)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.data import Trial
from analysis.displays import secondary_plots
from analysis.families import secondary
from analysis.results import ResultsStore
from analysis.stats.mmrm import fit_change_mmrm

VISITS = [1, 3, 6, 12, 24]
COUNTRIES = ["France", "Spain", "Italy"]


def _trial(n=48, arms=("Drug", "Placebo"), seed=1, drop=0.15) -> Trial:
    """A random trial with the contract columns used here; some visits missed."""
    rng = np.random.default_rng(seed)
    adsl, adqs = [], []
    for i in range(n):
        sid = f"R-{i:03d}"
        arm = arms[i % len(arms)]
        adsl.append({"USUBJID": sid, "TRT01P": arm, "ITTFL": "Y",
                     "COUNTRY": COUNTRIES[(i // len(arms)) % 3]})
        base = {"VAS": rng.uniform(45, 90), "ODI": rng.uniform(20, 60),
                "SF36PCS": rng.uniform(25, 40), "SF36MCS": rng.uniform(35, 55)}
        gain = 10.0 + (8.0 if arm == arms[0] else 0.0)  # mean improvement
        for v in [0, *VISITS]:
            if v and rng.random() < drop:
                continue
            for code, b in base.items():
                sign = -1.0 if code in ("VAS", "ODI") else 0.3
                val = b if v == 0 else b + sign * gain + rng.normal(0, 8)
                val = float(np.clip(round(val, 1), 0, 100))
                adqs.append({"USUBJID": sid, "PARAMCD": code, "AVISITN": v, "AVAL": val,
                             "BASE": round(b, 1)})
    adqs = pd.DataFrame(adqs)
    adqs["BASE"] = adqs.groupby(["USUBJID", "PARAMCD"])["AVAL"].transform("first")
    adqs["CHG"] = adqs["AVAL"] - adqs["BASE"]
    empty = pd.DataFrame()
    return Trial(screening=empty, adsl=pd.DataFrame(adsl), adqs=adqs, admri=empty,
                 adimm=empty, adae=empty, source=Path("."), synthetic=True,
                 arms=tuple(arms), control_arm=arms[-1])


@pytest.fixture(scope="module")
def two():
    t = _trial()
    return t, ResultsStore.empty().add(secondary.compute(t))


def _tiny() -> Trial:
    """Four subjects, VAS and ODI and PCS at baseline and month 1, hand-checkable."""
    rows = [  # subject, arm, code, base, month-1 value
        ("a1", "A", "VAS", 60, 45), ("a1", "A", "ODI", 40, 40), ("a1", "A", "SF36PCS", 30, 34.9),
        ("a2", "A", "VAS", 60, 46), ("a2", "A", "ODI", 40, 30), ("a2", "A", "SF36PCS", 30, 35),
        ("b1", "B", "VAS", 80, 50), ("b1", "B", "ODI", 50, 45), ("b1", "B", "SF36PCS", 30, 20),
        ("b2", "B", "VAS", 50, 49), ("b2", "B", "ODI", 30, 29), ("b2", "B", "SF36PCS", 30, 31),
    ]
    q = []
    for s, _, code, b, v in rows:
        q.append({"USUBJID": s, "PARAMCD": code, "AVISITN": 0, "AVAL": b, "BASE": b, "CHG": 0.0})
        q.append({"USUBJID": s, "PARAMCD": code, "AVISITN": 1, "AVAL": v, "BASE": b,
                  "CHG": v - b})
    adsl = pd.DataFrame({"USUBJID": ["a1", "a2", "b1", "b2"], "TRT01P": ["A", "A", "B", "B"],
                         "ITTFL": ["Y", "Y", "Y", "Y"], "COUNTRY": ["France"] * 4})
    e = pd.DataFrame()
    return Trial(screening=e, adsl=adsl, adqs=pd.DataFrame(q), admri=e, adimm=e, adae=e,
                 source=Path("."), synthetic=True, arms=("A", "B"), control_arm="B")


def test_mcid_and_responders_hand_computed():
    t = _tiny()
    q = secondary._qs(t, "VAS")
    s = ResultsStore.empty().add(secondary.mcid_rows(q, "vas", "VAS", t.arms, "B"))
    # VAS improvement: a1 15 (exactly the MCID), a2 14, b1 30, b2 1
    assert s.value("vas", "n_responders", analysis="mcid", visit=1, arm="A") == 1
    assert s.value("vas", "n_responders", analysis="mcid", visit=1, arm="B") == 1
    assert s.value("vas", "percent", analysis="mcid", visit=1, arm="A") == 50
    assert s.value("vas", "threshold", analysis="mcid") == 15
    assert s.value("vas", "risk_difference", analysis="mcid", visit=1, arm="A vs B") == 0
    q = secondary._qs(t, "SF36PCS")
    s = ResultsStore.empty().add(secondary.mcid_rows(q, "sf36pcs", "SF36PCS", t.arms, "B"))
    # PCS gains (higher is better): a1 4.9 (= MCID), a2 5, b1 -10, b2 1
    assert s.value("sf36pcs", "n_responders", analysis="mcid", visit=1, arm="A") == 2
    assert s.value("sf36pcs", "n_responders", analysis="mcid", visit=1, arm="B") == 0
    assert s.value("sf36pcs", "risk_difference", analysis="mcid", visit=1, arm="A vs B") == 100
    r = ResultsStore.empty().add(secondary.responder_rows(t))
    # responder rule: a1 VAS 25 % and 15 mm -> no, ODI 0 -> no; a2 ODI 25 % -> yes;
    # b1 VAS 37.5 % and 30 mm -> yes; b2 no
    assert r.value(secondary.RBV, "n_responders", analysis="observed", visit=1, arm="A") == 1
    assert r.value(secondary.RBV, "n_responders", analysis="observed", visit=1, arm="B") == 1
    assert r.value(secondary.RBV, "N", analysis="observed", visit=1, arm="B") == 2
    row = r.get(secondary.RBV, "percent", analysis="observed", visit=1, arm="A")
    assert row["value"] == 50
    # Wilson 1/2: centre (1 + 1.92)/(2 + 3.84), half 1.96 * sqrt(3.84 + 2) / (2 * 5.84)
    z = 1.959963984540054
    centre = (1 + z**2 / 2) / (2 + z**2)
    half = z * np.sqrt(z**2 + 2) / (2 * (2 + z**2))
    assert row["lower"] == pytest.approx(100 * (centre - half))
    assert row["upper"] == pytest.approx(100 * (centre + half))


def test_descriptive_rows_equal_direct_computation(two):
    t, s = two
    q = t.adqs.merge(t.adsl, on="USUBJID")
    d = q[(q.PARAMCD == "ODI") & (q.AVISITN == 6) & (q.TRT01P == "Drug")]
    assert s.value("odi", "n", analysis="descriptive", visit=6, arm="Drug",
                   group="change") == len(d)
    row = s.get("odi", "mean", analysis="descriptive", visit=6, arm="Drug", group="change")
    assert row["value"] == pytest.approx(d.CHG.mean())
    half = 2.0 * d.CHG.std() / np.sqrt(len(d))  # t quantile close to 2 for n ~ 20
    assert row["upper"] - row["value"] == pytest.approx(half, rel=0.05)
    assert s.value("odi", "sd", analysis="descriptive", visit=0, arm="Placebo",
                   group="value") == pytest.approx(
        q[(q.PARAMCD == "ODI") & (q.AVISITN == 0) & (q.TRT01P == "Placebo")].AVAL.std())


def test_mmrm_rows_match_the_estimator(two):
    t, s = two
    q = secondary._qs(t, "VAS")
    q = q[q.AVISITN > 0]
    fit = fit_change_mmrm(q, arms=list(t.arms), control="Placebo", covariates=("COUNTRY",))
    c = fit.contrasts.set_index("visit").loc[12]
    row = s.get("vas", "difference", analysis="mmrm", visit=12, arm="Drug vs Placebo")
    assert row["value"] == pytest.approx(c["estimate"])
    assert (row["lower"], row["upper"]) == pytest.approx((c["lower"], c["upper"]))
    assert s.value("vas", "converged", analysis="mmrm") == 1
    assert s.value("vas", "n_obs", analysis="mmrm") == len(q)
    # simulated effect: -8 mm in VAS change for Drug, well inside the CI at most visits
    diffs = s.select("vas", analysis="mmrm", statistic="difference")
    assert diffs["value"].mean() == pytest.approx(-8, abs=4)


def test_time_to_response_rows_consistent(two):
    t, s = two
    for a in t.arms:
        n = s.value(secondary.TTE, "n", arm=a)
        assert s.value(secondary.TTE, "n_at_risk", visit=1, arm=a) == n
        cum = s.select(secondary.TTE, statistic="cumulative_response", arm=a)
        vals = cum.assign(v=cum.visit.astype(int)).sort_values("v")["value"].to_numpy()
        assert vals[0] == 0 and np.all(np.diff(vals) >= -1e-12)
    assert 0 < s.value(secondary.TTE, "hazard_ratio", analysis="cox", arm="Drug vs Placebo")
    assert 0 <= s.value(secondary.TTE, "p_value", analysis="logrank", arm="Drug vs Placebo") <= 1


def test_km_at_first_visit_equals_responders_by_visit(two):
    """Issue 13: patients who missed the first visit are not at risk there, so the KM
    cumulative response at month 1 is responders / assessed of the responders-by-visit rows
    (the fixture misses ~15 % of visits)."""
    t, s = two
    first = VISITS[0]
    for a in t.arms:
        obs = dict(analysis="observed", visit=first, arm=a)
        x = s.value(secondary.RBV, "n_responders", **obs)
        n = s.value(secondary.RBV, "N", **obs)
        assert s.value(secondary.TTE, "n_at_risk", visit=first, arm=a) == n
        km = s.value(secondary.TTE, "cumulative_response", visit=first, arm=a)
        assert km == pytest.approx(100 * x / n, rel=1e-12)
        assert km == pytest.approx(s.value(secondary.RBV, "percent", **obs))


def test_mmrm_rows_use_the_settings(two, monkeypatch):
    """MMRM_DF and LSMEANS_WEIGHTS reach the estimator: Kenward-Roger SEs exceed the
    model-based ones here; equal country weights move the LS means, not the differences."""
    t, s = two
    q = secondary._qs(t, "VAS")
    d = q[(q["AVISITN"] > 0) & q["CHG"].notna() & q["BASE"].notna()]
    kw = dict(arms=list(t.arms), control=t.control_arm, covariates=("COUNTRY",))
    sw = fit_change_mmrm(d, df_method="satterthwaite", **kw)
    kr = fit_change_mmrm(d, df_method="kenward-roger", **kw)
    assert secondary.MMRM_DF == "kenward-roger"
    se = s.select("vas", analysis="mmrm", statistic="se", arm="Drug vs Placebo")
    se = se.assign(v=se.visit.astype(int)).sort_values("v")["value"].to_numpy()
    np.testing.assert_allclose(se, kr.contrasts.sort_values("visit")["se"], rtol=1e-12)
    assert np.all(kr.contrasts["se"].to_numpy() > sw.contrasts["se"].to_numpy())
    q = q.assign(COUNTRY=np.where(q["USUBJID"] < "R-012", "France", q["COUNTRY"]))

    def lsmeans():
        return {(int(r["visit"]), r["arm"], r["statistic"]): r["value"]
                for r in secondary.mmrm_rows(q, "vas", t.arms, t.control_arm)
                if r["statistic"] in ("lsmean", "difference")}

    prop = lsmeans()
    monkeypatch.setattr(secondary, "LSMEANS_WEIGHTS", "equal")
    equal = lsmeans()
    moved = [abs(equal[k] - v) for k, v in prop.items() if k[2] == "lsmean"]
    assert min(moved) > 1e-6  # unequal country shares: every LS mean moves
    for k, v in prop.items():
        if k[2] == "difference":
            assert equal[k] == pytest.approx(v, rel=1e-9)


def test_tables_are_narrow_and_read_the_store(two):
    t, s = two
    tabs = secondary.tables(t, s)
    assert set(tabs) >= {"secondary_mmrm", "secondary_mcid", "secondary_responders_by_visit",
                         "secondary_time_to_response", "secondary_descriptive_vas"}
    for df in tabs.values():
        assert len(df.columns) <= 7
    m = tabs["secondary_mmrm"]
    assert len(m) == 4 * len(VISITS)
    row = s.get("vas", "difference", analysis="mmrm", visit=12, arm="Drug vs Placebo")
    cell = m[(m.Outcome == "Pain VAS (mm)") & (m.Month == "12")]["Difference (95% CI)"].item()
    assert cell.startswith(f"{row['value']:.1f}".replace("-", "−"))
    r = tabs["secondary_responders_by_visit"]
    x = s.get(secondary.RBV, "n_responders", analysis="observed", visit=3, arm="Drug")
    assert r.set_index("Month").loc["3", "Drug"].startswith(f"{int(x['value'])}/{int(x['n'])}")


def test_three_arms_contrasts_against_control():
    t = _trial(n=60, arms=("High", "Low", "Sham"), seed=4)
    s = ResultsStore.empty().add(secondary.compute(t))
    labs = set(s.select("odi", analysis="mmrm", statistic="difference")["arm"])
    assert labs == {"High vs Sham", "Low vs Sham"}
    labs = set(s.select(secondary.TTE, analysis="cox", statistic="hazard_ratio")["arm"])
    assert labs == {"High vs Sham", "Low vs Sham"}
    assert "RD High vs Sham (95% CI)" in secondary.mcid_table(s, t.arms, "Sham").columns


def test_figures_draw_store_values(two):
    t, s = two
    figs = secondary.figures(t, s)
    assert set(figs) == {"secondary_mean_change", "secondary_mmrm_forest",
                         "secondary_time_to_response"}
    ax = figs["secondary_mean_change"].axes[0]
    line = ax.lines[0]  # first arm, VAS
    expected = s.select("vas", analysis="descriptive", group="change", statistic="mean",
                        arm="Drug")
    np.testing.assert_allclose(np.asarray(line.get_ydata(), float)[1:],
                               expected["value"].to_numpy())
    km = figs["secondary_time_to_response"]
    texts = [x.get_text() for x in km.axes[1].texts]
    assert str(int(s.value(secondary.TTE, "n_at_risk", visit=1, arm="Drug"))) in texts
    for f in figs.values():
        secondary_plots.plt.close(f)


def test_mmrm_sentence_counts_and_names_the_significant_visits():
    from analysis.results import result_row

    rows = [result_row(ep, "p_value", p, analysis="mmrm", visit=v, arm="A vs B")
            for ep, v, p in [("vas", 1, 0.5), ("vas", 24, 0.01), ("odi", 1, 0.2),
                             ("odi", 24, 0.049)]]
    s = ResultsStore.empty().add(rows)
    text = secondary.mmrm_sentence(s, ("A", "B"), "B")
    assert text.startswith("2 of the 4 per-visit MMRM comparisons had p < 0.05")
    assert "pain VAS at month 24 and ODI at month 24" in text
    none = ResultsStore.empty().add(rows[:1])
    text = secondary.mmrm_sentence(none, ("A", "B"), "B")
    assert text.startswith("None of the 1 ")
    assert "did not differ" not in text
    assert text.endswith("no difference between the arms was detected in pain VAS at any visit.")
    two = ResultsStore.empty().add([rows[0], rows[2]])
    assert secondary.mmrm_sentence(two, ("A", "B"), "B").endswith(
        "detected in pain VAS or ODI at any visit.")


def test_compute_is_deterministic(two):
    t, s = two
    again = ResultsStore.empty().add(secondary.compute(t))
    pd.testing.assert_frame_equal(s.sorted().table, again.sorted().table)
