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
