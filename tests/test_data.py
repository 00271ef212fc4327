"""Tests of analysis.data: dictionary helpers, readers (CSV, Parquet, XPT), typed Trial, and
the contract that follows from each trial's specification (RESPINE, BtheB, three arms)."""

import shutil
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from analysis.data import (
    DataError,
    Trial,
    column_label,
    dataset_notes,
    dictionary_table,
    load_trial,
    param_label,
    parse_column,
)

VALID = Path(__file__).parent / "fixtures" / "data" / "valid"


def test_column_label_with_unit():
    assert column_label("adsl", "AGE") == "Age (years)"
    assert column_label("adsl", "BMI") == "Body-mass index (kg/m²)"
    assert column_label("adsl", "SEX") == "Sex"
    assert column_label("adsl", "NOPE") == "NOPE"
    assert param_label("adqs", "VAS") == "Pain VAS (mm)"
    assert param_label("adqs", "ODI", unit=False) == "Oswestry Disability Index"


def test_dictionary_table_and_notes():
    t = dictionary_table("adsl")
    assert set(t["Dataset"]) == {"adsl"}
    row = t.set_index("Column").loc["TRT01P"]
    assert row["Values"] == "BM-MSC, Sham" and row["Type"] == "str"
    assert t.set_index("Column").loc["AGE", "Values"] == "18 to 60"
    notes = dataset_notes()
    assert list(notes.columns) == ["Topic", "Note"] and len(notes) >= 5
    assert notes["Note"].str.contains("\n").sum() == 0


def test_load_valid_fixture_types():
    t = load_trial(VALID, minimum=False)
    assert isinstance(t, Trial)
    assert t.arms == ("BM-MSC", "Sham") and t.control_arm == "Sham"
    assert t.experimental_arms == ("BM-MSC",)
    assert t.synthetic is False  # no dataset.yaml
    assert t.adsl["AGE"].tolist() == [45, 38] and t.adsl["AGE"].dtype == "int64"
    assert t.adsl["RANDDT"].dtype == "datetime64[ns]"
    assert t.adsl.loc[0, "RANDDT"] == pd.Timestamp("2019-01-10")
    assert t.adsl["NTRTREAS"].tolist() == ["", ""]
    assert t.adqs["AVAL"].dtype == "float64" and t.adqs["AVISITN"].dtype == "int64"
    assert t.screening["USUBJID"].tolist() == ["RESPINE-01-001", "", "RESPINE-02-001"]


def test_synthetic_flag_from_dataset_yaml(tmp_path):
    d = tmp_path / "d"
    shutil.copytree(VALID, d)
    (d / "dataset.yaml").write_text("name: test\nsynthetic: true\n")
    t = load_trial(d, minimum=False)
    assert t.synthetic is True and t.metadata["name"] == "test"


def test_not_a_folder(tmp_path):
    with pytest.raises(DataError, match="not a folder"):
        load_trial(tmp_path / "missing")


def _typed(folder):
    t = load_trial(folder, minimum=False)
    return dict(t.tables)


def test_parquet_and_xpt_read_like_csv(tmp_path):
    ref = _typed(VALID)
    d = tmp_path / "mixed"
    d.mkdir()
    for name, df in ref.items():
        if name in ("adsl", "adae"):  # SAS transport (v5, readable by pandas too) in capitals
            pyreadstat.write_xport(df, str(d / f"{name.upper()}.XPT"),
                                   table_name=name.upper(), file_format_version=5)
        else:
            df.to_parquet(d / f"{name}.parquet", index=False)
    got = _typed(d)
    assert set(got) == set(ref) == {"screening", "adsl", "adqs", "admri", "adimm", "adae"}
    for name in ref:
        pd.testing.assert_frame_equal(got[name], ref[name], check_like=False)


def test_xpt_version_8(tmp_path):
    d = tmp_path / "x"
    shutil.copytree(VALID, d)
    ref = load_trial(VALID, minimum=False).adsl
    (d / "adsl.csv").unlink()
    pyreadstat.write_xport(ref, str(d / "adsl.xpt"), table_name="ADSL")
    pd.testing.assert_frame_equal(load_trial(d, minimum=False).adsl, ref)


def test_parse_column_sas_numeric_dates():
    days, bad = parse_column(pd.Series([21559.0, None]), "date")  # days since 1960-01-01
    assert days.iloc[0] == pd.Timestamp("2019-01-10") and pd.isna(days.iloc[1])
    secs, _ = parse_column(pd.Series([21559.0 * 86400]), "date")
    assert secs.iloc[0] == pd.Timestamp("2019-01-10")
    assert not bad.any()


def test_parse_column_flags_bad_cells():
    vals, bad = parse_column(pd.Series(["1", "2.5", "", "x"]), "int")
    assert bad.tolist() == [False, True, False, True]
    vals, bad = parse_column(pd.Series(["Y", "N", "", "y"]), "flag")
    assert bad.tolist() == [False, False, False, True]


# ------------------------------------------------------------ the contract follows the spec
ROOT = Path(__file__).resolve().parents[1]
BTHEB = ROOT / "trials" / "btheb" / "trial.yaml"
THREE = ROOT / "tests" / "fixtures" / "three_arm" / "trial.yaml"
RESPINE_DATA = ROOT / "data" / "synthetic"


def _spec(path):
    from analysis.spec.load import load_spec

    return load_spec(path)


def test_btheb_validates_and_loads():
    from analysis.validation import validate_folder

    spec = _spec(BTHEB)
    assert validate_folder(spec.data.folder, spec=spec) == []
    t = load_trial(spec=spec)
    assert t.arms == ("BtheB", "TAU") and t.control_arm == "TAU"
    assert sorted(t.tables) == ["adqs", "adsl"] and t.available == {"adqs", "adsl"}
    assert len(t.adsl) == 100 and t.adqs["AVISITN"].dtype == "int64"
    assert sorted(t.adqs["AVISITN"].unique()) == [0, 2, 3, 5, 8]
    assert t.adae.empty and t.dataset("adtte").empty and t.modules == ()


def test_btheb_dictionary_comes_from_the_spec():
    from analysis.data import allowed_values, dictionary, evaluable_endpoints

    spec = _spec(BTHEB)
    d = dictionary(spec)
    assert set(d["datasets"]) == {"adsl", "adqs"}
    assert d["datasets"]["adqs"]["required"] and d["datasets"]["adqs"]["role"] == "bds"
    assert allowed_values("adsl", "TRT01P", spec) == ["BtheB", "TAU"]
    assert allowed_values("adqs", "AVISITN", spec) == [0, 2, 3, 5, 8]
    assert d["datasets"]["adqs"]["parameters"]["BDI"] == {
        "label": "Beck Depression Inventory II", "unit": "score", "min": 0, "max": 63}
    assert param_label("adqs", "BDI", spec=spec) == "Beck Depression Inventory II (score)"
    assert evaluable_endpoints(spec) == [{"endpoint": "bdi", "dataset": "adqs",
                                          "parameters": ["BDI"], "visit": 8,
                                          "population": "ITTFL"}]
    assert d["minimum_data"]["randomised_per_arm"] == 3  # the generic default
    assert dataset_notes(spec).empty  # no trial dictionary, no notes
    table = dictionary_table(spec=spec)
    assert {"DRUG", "LENGTH", "EFFFL", "BASE", "CHG"} <= set(table["Column"])
    assert "STARTDT" not in set(table["Column"])  # generic columns the trial does not use


def test_respine_minimum_endpoints_and_rules_from_the_spec():
    from analysis.data import dictionary

    d = dictionary(_spec(ROOT / "trials" / "respine" / "trial.yaml"))
    assert d["minimum_data"]["endpoints"] == [
        {"endpoint": "responder_m12", "dataset": "adqs", "parameters": ["VAS", "ODI"],
         "visit": 12, "population": "ITTFL"},
        {"endpoint": "t2", "dataset": "admri", "parameters": ["T2"], "visit": 12,
         "population": "ITTFL"}]
    assert d["minimum_data"]["randomised_per_arm"] == 10  # the trial dictionary's
    assert d["immune_positivity_threshold"] == 1000
    assert [n for n, ds in d["datasets"].items() if ds["required"]] == ["adsl", "admri", "adqs"]


def test_btheb_as_sas_transport_files_validates_without_renaming(tmp_path):
    from analysis.validation import validate_folder

    spec = _spec(BTHEB)
    ref = load_trial(spec=spec)
    for name in ("adsl", "adqs"):
        pyreadstat.write_xport(ref.dataset(name), str(tmp_path / f"{name}.xpt"),
                               table_name=name.upper(), file_format_version=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adqs.xpt", "adsl.xpt"]
    assert validate_folder(tmp_path, spec=spec) == []
    got = load_trial(tmp_path, spec=spec)
    for name in ("adsl", "adqs"):
        pd.testing.assert_frame_equal(got.dataset(name), ref.dataset(name))


def test_three_arm_validates_and_loads():
    from analysis.validation import validate_folder

    spec = _spec(THREE)
    assert validate_folder(spec.data.folder, spec=spec) == []
    t = load_trial(spec=spec)
    assert t.arms == ("Drug A", "Drug B", "Placebo") and t.experimental_arms == ("Drug A",
                                                                                "Drug B")
    assert t.adtte["CNSR"].dtype == "int64" and len(t.adtte) == 9
    assert t.available == {"adsl", "adqs", "adtte"}


def test_three_arm_unknown_arm_and_missing_dataset(tmp_path):
    from analysis.validation import validate_folder

    spec = _spec(THREE)
    d = tmp_path / "d"
    shutil.copytree(spec.data.folder, d)
    adsl = pd.read_csv(d / "adsl.csv", dtype=str, keep_default_na=False)
    adsl.loc[1, "TRT01P"] = "Drug C"
    adsl.to_csv(d / "adsl.csv", index=False)
    (d / "adtte.csv").unlink()  # an endpoint needs it
    probs = validate_folder(d, spec=spec)
    assert {(p.rule, p.file, p.column, p.rows) for p in probs} >= {
        ("allowed-arm", "adsl.csv", "TRT01P", "row 2"),
        ("file-present", "adtte.{csv/parquet/xpt/sas7bdat}", "", "")}


def test_module_without_its_dataset_is_off(tmp_path):
    d = tmp_path / "d"
    shutil.copytree(RESPINE_DATA, d)
    (d / "adimm.csv").unlink()
    (d / "screening.csv").unlink()
    t = load_trial(d)
    assert "immunogenicity" not in t.modules and "screening" not in t.modules
    assert {"disposition", "adverse_events"} <= set(t.modules)
    assert t.adimm.empty and t.screening.empty and not t.adae.empty


def test_scheduled_visit_absent_from_the_data_names_the_spec(tmp_path):
    from analysis.validation import validate_folder

    spec = _spec(BTHEB)
    d = tmp_path / "d"
    shutil.copytree(spec.data.folder, d)
    q = pd.read_csv(d / "adqs.csv", dtype=str, keep_default_na=False)
    q[q["AVISITN"] != "3"].to_csv(d / "adqs.csv", index=False)
    (p,) = validate_folder(d, spec=spec)
    assert p.rule == "spec-visit" and p.file.endswith("trials/btheb/trial.yaml")
    assert p.column == "visits.schedule[2].avisitn" and p.rows.startswith("line ")
    assert "visit 3 (Month 3) does not occur" in p.message


def test_trial_attribute_access_and_replace():
    t = Trial({"adsl": pd.DataFrame({"USUBJID": ["S1", "S2"]})}, arms=("A", "B"))
    assert t.adqs.empty and t.dataset("adsl").shape == (2, 1)
    with pytest.raises(AttributeError):
        t._private  # noqa: B018
    u = t.replace(arms=("X", "Y"), control_arm="Y", adqs=pd.DataFrame({"A": [1]}))
    assert u.arms == ("X", "Y") and len(u.adqs) == 1 and t.adqs.empty
    legacy = Trial(adsl=pd.DataFrame({"USUBJID": ["S1"]}), adqs=pd.DataFrame(), source=".",
                   synthetic=True, arms=("A", "B"), control_arm="B")
    assert legacy.synthetic and legacy.control_arm == "B" and legacy.available == {"adsl"}


def test_synthetic_from_the_specification_for_its_own_folder_only(tmp_path):
    import dataclasses
    import shutil

    from analysis.spec.locate import current_spec
    from publishing import notice

    spec = current_spec()  # RESPINE: data.synthetic true, for data/synthetic
    own = dataclasses.replace(spec, data=dataclasses.replace(spec.data, folder=VALID))
    assert load_trial(VALID, minimum=False, spec=own).synthetic is True
    assert notice.marks(VALID, blinded=False, spec=own) == [notice.SYNTHETIC]
    assert notice.marks(VALID, blinded=False, spec=spec) == []  # not its folder
    said = tmp_path / "said"
    shutil.copytree(VALID, said)
    (said / "dataset.yaml").write_text("synthetic: false\n")
    own = dataclasses.replace(spec, data=dataclasses.replace(spec.data, folder=said))
    assert load_trial(said, minimum=False, spec=own).synthetic is False  # the folder says
    assert notice.marks(said, blinded=False, spec=own) == []
