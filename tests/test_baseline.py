"""Table 1: statistics hand-computed on a 6-subject fixture; layout; 3 arms."""

from __future__ import annotations

import math
from dataclasses import replace as dataclass_replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analysis.families.baseline import (
    INDENT,
    Var,
    baseline_frame,
    baseline_rows,
    table_one,
    variable_label,
    variables,
)
from analysis.results import ResultsStore

VARS = (Var("AGE", kind="normal", label="Age", unit="years"),
        Var("SEX", label="Sex", levels=("M", "F"), value_labels={"M": "Male", "F": "Female"}),
        Var("PAINDUR", kind="nonnormal", label="Duration of low back pain", unit="months"),
        Var("PFIRRMN", label="Modified Pfirrmann grade", levels=("4", "5", "6", "7")),
        Var("MODIC", label="Modic change", levels=("None", "Type 1", "Type 2", "Type 3")),
        Var("VAS", "adqs", "normal", label="Pain VAS", unit="mm"),
        Var("T2", "admri", "normal", label="Disc nucleus T2 relaxation time", unit="ms"))


def make_trial(arms=("BM-MSC", "Sham")):
    """Subjects 1-3 in the first arm, 4-6 in the last (and 7-9 in the middle of 3 arms)."""
    adsl = pd.DataFrame({
        "USUBJID": [f"R-{i}" for i in range(1, 7)],
        "TRT01P": [arms[0]] * 3 + [arms[-1]] * 3,
        "AGE": [30, 40, 50, 20, 30, np.nan],
        "SEX": ["M", "F", "F", "M", "M", ""],
        "PAINDUR": [6.0, 12.0, 60.0, 3.0, 24.0, 48.0],
        "PFIRRMN": [4, 5, 5, 6, 6, 7],
        "MODIC": ["None", "Type 1", "None", "None", "None", "Type 2"],
    })
    vas = [("R-1", 70), ("R-2", 80), ("R-3", 90), ("R-4", 60), ("R-5", 70)]
    adqs = pd.DataFrame(
        [{"USUBJID": u, "PARAMCD": "VAS", "AVISITN": 0, "AVAL": v, "ABLFL": "Y"} for u, v in vas]
        + [{"USUBJID": u, "PARAMCD": "VAS", "AVISITN": 12, "AVAL": 5.0, "ABLFL": ""}
           for u, _ in vas]
        + [{"USUBJID": "R-6", "PARAMCD": "ODI", "AVISITN": 0, "AVAL": 40.0, "ABLFL": "Y"}])
    t2 = [100, 110, 120, 90, 95, 100]
    admri = pd.DataFrame(
        [{"USUBJID": f"R-{i + 1}", "PARAMCD": "T2", "AVISITN": 0, "AVAL": v}
         for i, v in enumerate(t2)]
        + [{"USUBJID": "R-1", "PARAMCD": "T2", "AVISITN": 12, "AVAL": 250.0}])
    if len(arms) == 3:
        extra = adsl.iloc[3:].assign(TRT01P=arms[1])
        extra["USUBJID"] = ["R-7", "R-8", "R-9"]
        adsl = pd.concat([adsl, extra], ignore_index=True)
    return SimpleNamespace(adsl=adsl, adqs=adqs, admri=admri, arms=tuple(arms),
                           control_arm=arms[-1],
                           experimental_arms=tuple(arms[:-1]))


@pytest.fixture(scope="module")
def store():
    return ResultsStore.empty().add(baseline_rows(make_trial(), VARS))


def val(store, var, stat, arm, group=""):
    return store.value(f"baseline:{var}" if var else "baseline", stat, arm=arm, group=group)


def test_frame_takes_baselines_from_adqs_and_admri():
    f = baseline_frame(make_trial(), VARS)
    assert f["VAS"].tolist()[:5] == [70, 80, 90, 60, 70] and math.isnan(f["VAS"].iloc[5])
    assert f["T2"].tolist() == [100, 110, 120, 90, 95, 100]
    assert f["PFIRRMN"].tolist() == ["4", "5", "5", "6", "6", "7"]
    assert f["MODIC"].iloc[0] == "None" and pd.isna(f["SEX"].iloc[5])


def test_column_sizes(store):
    assert [val(store, "", "N", a) for a in ("BM-MSC", "Sham", "Overall")] == [3, 3, 6]


def test_continuous_by_hand(store):
    assert val(store, "AGE", "mean", "BM-MSC") == pytest.approx(40)
    assert val(store, "AGE", "sd", "BM-MSC") == pytest.approx(10)
    assert val(store, "AGE", "mean", "Sham") == pytest.approx(25)
    assert val(store, "AGE", "sd", "Sham") == pytest.approx(math.sqrt(50))
    assert val(store, "AGE", "sd", "Overall") == pytest.approx(math.sqrt(130))
    assert val(store, "AGE", "missing", "Sham") == 1
    assert val(store, "AGE", "n", "Overall") == 5
    assert val(store, "PAINDUR", "median", "BM-MSC") == pytest.approx(12)
    assert val(store, "PAINDUR", "q1", "BM-MSC") == pytest.approx(9)
    assert val(store, "PAINDUR", "q3", "BM-MSC") == pytest.approx(36)
    assert val(store, "PAINDUR", "q1", "Sham") == pytest.approx(13.5)
    assert val(store, "VAS", "mean", "Sham") == pytest.approx(65)
    assert val(store, "T2", "mean", "BM-MSC") == pytest.approx(110)


def test_categorical_by_hand(store):
    assert val(store, "SEX", "n", "BM-MSC", "F") == 2
    assert val(store, "SEX", "percent", "BM-MSC", "F") == pytest.approx(200 / 3)
    assert val(store, "SEX", "percent", "Sham", "M") == pytest.approx(100)  # of non-missing
    assert val(store, "SEX", "n", "Sham", "F") == 0
    assert val(store, "SEX", "missing", "Overall") == 1
    assert val(store, "SEX", "percent", "Overall", "M") == pytest.approx(60)
    assert val(store, "MODIC", "n", "Overall", "None") == 4  # the text "None" is a level
    assert val(store, "MODIC", "n", "Overall", "Type 3") == 0  # declared level kept
    assert val(store, "PFIRRMN", "n", "Sham", "6") == 2


def test_smd_against_control(store):
    # |40 - 25| / sqrt((10^2 + 50) / 2)
    assert val(store, "AGE", "smd", "BM-MSC vs Sham") == pytest.approx(15 / math.sqrt(75))
    # binary: |p1 - p2| / sqrt((p1 q1 + p2 q2) / 2) with p = share of F
    p1, p2 = 2 / 3, 0.0
    assert val(store, "SEX", "smd", "BM-MSC vs Sham") == pytest.approx(
        abs(p1 - p2) / math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2))


def test_table_layout(store):
    t = table_one(store, ("BM-MSC", "Sham"), VARS, smd=True)
    assert list(t.columns) == ["Characteristic", "BM-MSC (n=3)", "Sham (n=3)",
                               "Overall (n=6)", "SMD"]
    rows = t.set_index("Characteristic")
    assert rows.loc["Age (years), mean (SD)"].tolist() == ["40.0 (10.0)", "25.0 (7.1)",
                                                           "34.0 (11.4)", "1.73"]
    chars = t["Characteristic"].tolist()
    assert chars[chars.index("Age (years), mean (SD)") + 1] == INDENT + "Missing"
    assert rows.loc["Duration of low back pain (months), median [IQR]"].iloc[0] == \
        "12.0 [9.0, 36.0]"
    sex = chars.index("Sex, n (%)")
    assert chars[sex + 1: sex + 4] == [INDENT + "Male", INDENT + "Female", INDENT + "Missing"]
    assert rows.loc[INDENT + "Male"].tolist()[:3] == ["1 (33)", "2 (100)", "3 (60)"]
    modic = chars.index("Modic change, n (%)")
    assert chars[modic + 1: modic + 5] == [INDENT + v for v in
                                           ("None", "Type 1", "Type 2", "Type 3")]
    assert "Pain VAS (mm), mean (SD)" in chars
    # no missing T2 -> no Missing row after it
    assert chars[-1] == "Disc nucleus T2 relaxation time (ms), mean (SD)"


def test_table_survives_csv_round_trip(store, tmp_path):
    store.to_csv(tmp_path / "r.csv")
    again = table_one(ResultsStore.from_csv(tmp_path / "r.csv"), ("BM-MSC", "Sham"), VARS)
    pd.testing.assert_frame_equal(again, table_one(store, ("BM-MSC", "Sham"), VARS))


def test_three_arms():
    trial = make_trial(("Low", "High", "Placebo"))
    store = ResultsStore.empty().add(baseline_rows(trial, VARS))
    assert val(store, "", "N", "High") == 3 and val(store, "", "N", "Overall") == 9
    assert val(store, "AGE", "mean", "High") == pytest.approx(25)
    assert val(store, "AGE", "smd", "Low vs Placebo") == pytest.approx(15 / math.sqrt(75))
    assert val(store, "AGE", "smd", "High vs Placebo") == pytest.approx(0)
    t = table_one(store, trial.arms, VARS)
    assert list(t.columns)[1:] == ["Low (n=3)", "High (n=3)", "Placebo (n=3)", "Overall (n=9)"]


def test_variables_and_labels_come_from_the_specification():
    from analysis.spec.load import load_spec

    spec = load_spec("trials/respine/trial.yaml")
    by = {v.name: v for v in variables(spec)}
    assert variable_label(by["BMI"]) == "Body-mass index (kg/m²)"
    assert variable_label(by["ODI"]) == "Oswestry Disability Index (%)"  # endpoint label, unit
    assert by["ODI"].dataset == "adqs" and by["T2"].dataset == "admri"
    assert variable_label(by["T2"]).endswith("(ms)")
    assert by["PAINDUR"].kind == "nonnormal" and by["PAINDUR"].decimals == 0
    assert by["PFIRRMN"].levels == ("4", "5", "6", "7")
    assert by["SEX"].value_labels == {"M": "Male", "F": "Female"}
    assert [v.name for v in variables(spec)][:2] == ["AGE", "SEX"]
    other = load_spec("tests/fixtures/three_arm/trial.yaml")
    assert [(v.name, v.dataset, v.kind) for v in variables(other)] == [
        ("AGE", "adsl", "normal"), ("SEX", "adsl", "categorical"),
        ("SCORE", "adqs", "normal")]


def test_spec_columns_name_the_subject_and_arm():
    """The frame and the rows use the specification's subject and arm columns."""
    from analysis.spec.load import load_spec

    spec = load_spec("tests/fixtures/three_arm/trial.yaml")
    t = make_trial()
    adsl = t.adsl.rename(columns={"USUBJID": "SUBJ", "TRT01P": "ARMCD"})
    adqs = t.adqs.rename(columns={"USUBJID": "SUBJ"})
    data = dataclass_replace(spec.data, subject_column="SUBJ", arm_column="ARMCD")
    trial = SimpleNamespace(**{**vars(t), "adsl": adsl, "adqs": adqs,
                               "spec": dataclass_replace(spec, data=data)})
    vars_ = (Var("AGE", kind="normal"), Var("VAS", "adqs", "normal"))
    f = baseline_frame(trial, vars_)
    assert list(f.columns) == ["SUBJ", "ARMCD", "AGE", "VAS"]
    st = ResultsStore.empty().add(baseline_rows(trial, vars_))
    assert val(st, "VAS", "mean", "Sham") == pytest.approx(65)
