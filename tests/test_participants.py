"""Participants family on the default synthetic data: CONSORT vs Table 1 vs the data."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from respine_rule import derive_responders

from analysis.data import load_trial
from analysis.families import participants
from analysis.families.consort import flow_from_store
from analysis.results import ResultsStore


@pytest.fixture(scope="module")
def trial():
    return load_trial("data/synthetic")


@pytest.fixture(scope="module")
def store(trial):
    return ResultsStore.empty().add(participants.compute(trial))


def test_published_counts(trial, store):
    exp, ctl = trial.arms
    primary = trial.spec.decision.endpoints[0]  # the responder endpoint
    assert store.value("consort", "randomised") == 114
    assert store.value("consort", "allocated", arm=exp) == 58
    assert store.value("consort", "allocated", arm=ctl) == 56
    assert store.value("consort", "analysed", arm=exp, analysis=primary) == 50
    assert store.value("consort", "analysed", arm=ctl, analysis=primary) == 49


def test_consort_agrees_with_table1_and_data(trial, store):
    flow = flow_from_store(store, trial.arms, spec=trial.spec)
    table = participants.baseline_table(trial, store)
    headers = list(table.columns)[1:]
    for arm in trial.arms:
        n_data = int((trial.adsl["TRT01P"] == arm).sum())
        assert flow.allocated[arm] == n_data
        assert store.value("baseline", "N", arm=arm) == n_data
        assert f"{arm} (n={n_data})" in headers
    assert flow.randomised == sum(flow.allocated.values()) == len(trial.adsl)
    assert f"Overall (n={flow.randomised})" in headers
    assert flow.assessed == len(trial.screening)
    assert flow.assessed == flow.excluded + flow.randomised
    assert flow.excluded == sum(n for _, n in flow.exclusion_reasons)
    # analysed = evaluable month-12 responder status, independently derived
    resp = derive_responders(trial.adqs, 12, trial.adsl["USUBJID"])
    evalfl = resp.set_index("USUBJID")["EVALFL"]
    for arm in trial.arms:
        ids = trial.adsl.loc[trial.adsl["TRT01P"] == arm, "USUBJID"]
        [resp_flow] = flow.analyses  # the other decision endpoint is counted by its family
        assert flow.analysed()[arm] == int((evalfl.loc[ids] == "Y").sum())
        assert flow.analysed()[arm] + sum(n for _, n in resp_flow.reasons[arm]) == \
            flow.allocated[arm]
        m12 = trial.adqs[(trial.adqs["AVISITN"] == 12) & trial.adqs["USUBJID"].isin(ids)]
        assert flow.visit_assessed[(arm, 12)] == m12["USUBJID"].nunique()


def test_zero_exclusion_reasons_listed_from_the_screening_module(trial, store):
    reasons = trial.spec.modules["screening"]["reasons"]
    listed = store.select("consort", statistic="excluded")
    assert set(reasons) <= set(listed["group"])


def test_table1_matches_independent_pandas(trial, store):
    adsl = trial.adsl
    for arm in trial.arms:
        age = adsl.loc[adsl["TRT01P"] == arm, "AGE"].astype(float)
        assert store.value("baseline:AGE", "mean", arm=arm) == pytest.approx(age.mean())
        assert store.value("baseline:AGE", "sd", arm=arm) == pytest.approx(age.std())
        dur = adsl.loc[adsl["TRT01P"] == arm, "PAINDUR"]
        assert store.value("baseline:PAINDUR", "q3", arm=arm) == pytest.approx(dur.quantile(.75))
        n_f = int(((adsl["TRT01P"] == arm) & (adsl["SEX"] == "F")).sum())
        assert store.value("baseline:SEX", "n", arm=arm, group="F") == n_f
    q = trial.adqs
    vas = q[(q["PARAMCD"] == "VAS") & (q["ABLFL"] == "Y")]["AVAL"]
    assert store.value("baseline:VAS", "mean", arm="Overall") == pytest.approx(vas.mean())
    t2 = trial.admri[trial.admri["AVISITN"] == 0]["AVAL"]
    assert store.value("baseline:T2", "mean", arm="Overall") == pytest.approx(t2.mean())


def test_exports_and_figure(trial, store):
    tables = participants.tables(trial, store)
    t1 = tables["baseline_table"]
    assert 4 <= len(t1.columns) <= 7
    assert t1["Characteristic"].iloc[0] == "Age (years), mean (SD)"
    counts = tables["consort_counts"]
    assert set(counts.columns) == {"statistic", "endpoint", "arm", "visit", "reason", "n"}
    assert counts.iloc[0].tolist() == ["assessed", "", "Overall", "", "", len(trial.screening)]
    analysed = counts[counts["statistic"] == "analysed"]
    assert set(analysed["endpoint"]) == {trial.spec.decision.endpoints[0]}
    figs = participants.figures(trial, store)
    try:
        texts = " ".join(t.get_text() for t in figs["consort"].axes[0].texts)
        texts = " ".join(texts.replace("\u00a0", " ").split())  # lines wrap to the print width
        assert "Randomised (n = 114)" in texts
        assert "Analysed for Responder at month 12 (n = 50)" in texts
        assert "Assessed for eligibility (n = 200)" in texts
    finally:
        for f in figs.values():
            plt.close(f)


def test_store_round_trip_gives_the_same_table(trial, store, tmp_path):
    store.to_csv(tmp_path / "r.csv")
    again = ResultsStore.from_csv(tmp_path / "r.csv")
    pd.testing.assert_frame_equal(participants.baseline_table(trial, again),
                                  participants.baseline_table(trial, store))


def test_optional_p_values_are_welch_and_chi_square(trial):
    from scipy import stats

    from analysis.families.baseline import baseline_rows, table_one, variables

    store = ResultsStore.empty().add(baseline_rows(trial, pval=True))
    adsl = trial.adsl
    a, c = (adsl.loc[adsl["TRT01P"] == arm, "AGE"].astype(float) for arm in trial.arms)
    assert store.value("baseline:AGE", "p_value") == pytest.approx(
        stats.ttest_ind(a, c, equal_var=False).pvalue)
    tab = pd.crosstab(adsl["TRT01P"], adsl["SMOKER"])
    assert store.value("baseline:SMOKER", "p_value") == pytest.approx(
        stats.chi2_contingency(tab)[1])
    assert list(table_one(store, trial.arms, variables(trial.spec), pval=True).columns)[-1] == "p"


def test_prose_helpers(trial, store):
    reasons = trial.screening.loc[trial.screening["RANDFL"] == "N", "EXCLREAS"]
    top = reasons.value_counts().sort_index().sort_values(ascending=False, kind="mergesort")
    sentence = participants.exclusion_sentence(store)
    first = top.index[0]
    assert f"were {first} (n = {top.iloc[0]})" in sentence  # reasons as recorded
    assert participants._lower_first("Facet syndrome") == "facet syndrome"
    assert participants._lower_first("BDI-II score") == "BDI-II score"
    smd = store.select(statistic="smd")
    smd = smd[smd["endpoint"].str.startswith("baseline:")]
    assert f"was {smd['value'].max():.2f} (" in participants.smd_sentence(trial, store)
    assert f"{int((smd['value'] > 0.1).sum())} of {len(smd)} characteristics" in \
        participants.smd_sentence(trial, store)


def test_markdown_widths_follow_content(trial, store):
    sep = participants.baseline_markdown(trial, store).split("\n")[1]
    dashes = [len(c.strip(":")) for c in sep.strip("|").split("|")]
    assert len(dashes) == 5
    assert dashes[0] == max(dashes) and dashes[-1] == min(dashes) == 9  # SMD "0.43": 1.3 x 4 + 3


def test_recruitment_sentence_reads_the_dates():
    from types import SimpleNamespace

    import pandas as pd

    from analysis.families.participants import recruitment_sentence

    trial = SimpleNamespace(
        adsl=pd.DataFrame({"RANDDT": ["2018-04-03", "2022-12-20", "2020-01-01"]}),
        adqs=pd.DataFrame({"ADT": ["2018-04-03", "2024-11-30"]}),
    )
    assert recruitment_sentence(trial) == (
        "Patients were randomised between April 2018 and December 2022; the last follow-up "
        "assessment took place in November 2024.")
    # never empty (an inline value): the absence is said
    assert recruitment_sentence(SimpleNamespace(adsl=pd.DataFrame({"AGE": [40]}))) == (
        "The dates of recruitment are not in the data (no randomisation date, RANDDT, in ADSL).")
