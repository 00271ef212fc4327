"""Tests of analysis.validation: one small broken fixture per rule; messages name the file,
column, row (1-based data row) or subject, and the rule."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis.data import DataError, load_trial
from analysis.validation import main, validate_folder

VALID = Path(__file__).parent / "fixtures" / "data" / "valid"
SYNTHETIC = Path(__file__).resolve().parents[1] / "data" / "synthetic"


def _copy(tmp_path) -> Path:
    dest = tmp_path / "data"
    shutil.copytree(VALID, dest)
    return dest


def _read(folder, name):
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def _write(folder, name, df):
    df.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")


def _edit(folder, name, row, col, value):
    """Set a cell; ``row`` is the 1-based data row."""
    df = _read(folder, name)
    df.loc[row - 1, col] = value
    _write(folder, name, df)


def _only(problems, rule):
    hits = [p for p in problems if p.rule == rule]
    assert hits, f"no {rule} problem in {[str(p) for p in problems]}"
    return hits


def test_valid_fixture_is_clean():
    assert validate_folder(VALID, minimum=False) == []


def test_missing_file(tmp_path):
    d = _copy(tmp_path)
    (d / "admri.csv").unlink()
    (p,) = _only(validate_folder(d), "file-present")
    assert "admri" in p.file and "admri not found" in str(p)


def test_missing_column(tmp_path):
    d = _copy(tmp_path)
    _write(d, "adsl", _read(d, "adsl").drop(columns="AGE"))
    (p,) = _only(validate_folder(d), "column-present")
    assert (p.file, p.column) == ("adsl.csv", "AGE")
    assert str(p) == "adsl.csv, column AGE: required column AGE is missing [rule: column-present]"


def test_wrong_type(tmp_path):
    d = _copy(tmp_path)
    _edit(d, "adsl", 2, "AGE", "thirty")
    _edit(d, "adqs", 4, "ADT", "12/01/2019")
    probs = _only(validate_folder(d), "type")
    msgs = sorted(str(p) for p in probs)
    assert msgs == [
        "adqs.csv, column ADT, row 4: expected a date YYYY-MM-DD, found '12/01/2019' [rule: type]",
        "adsl.csv, column AGE, row 2: expected an integer, found 'thirty' [rule: type]",
    ]


def test_flag_type(tmp_path):
    d = _copy(tmp_path)
    _edit(d, "adae", 1, "AESER", "yes")
    (p,) = _only(validate_folder(d), "type")
    assert (p.file, p.column, p.rows) == ("adae.csv", "AESER", "row 1")


def test_out_of_range(tmp_path):
    d = _copy(tmp_path)
    _edit(d, "adqs", 5, "AVAL", "120")
    (p,) = _only(validate_folder(d), "range")
    assert (p.file, p.column, p.rows) == ("adqs.csv", "AVAL", "row 5")
    assert "120" in p.message and "0 to 100" in p.message


def test_allowed_values(tmp_path):
    d = _copy(tmp_path)
    _edit(d, "adsl", 1, "SEX", "X")
    (p,) = _only(validate_folder(d), "allowed-values")
    assert (p.file, p.column, p.rows) == ("adsl.csv", "SEX", "row 1")


def test_missing_value(tmp_path):
    d = _copy(tmp_path)
    _edit(d, "adsl", 2, "RANDDT", "")
    (p,) = _only(validate_folder(d), "missing-value")
    assert (p.file, p.column, p.rows) == ("adsl.csv", "RANDDT", "row 2")


def test_duplicate_key(tmp_path):
    d = _copy(tmp_path)
    q = _read(d, "adqs")
    _write(d, "adqs", pd.concat([q, q.iloc[[3]]], ignore_index=True))  # repeat row 4
    (p,) = _only(validate_folder(d), "unique-key")
    assert p.file == "adqs.csv" and p.column == "USUBJID+PARAMCD+AVISITN"
    assert p.rows == "rows 4, 11"


def test_orphan_subject(tmp_path):
    d = _copy(tmp_path)
    _edit(d, "adae", 2, "USUBJID", "RESPINE-09-999")
    (p,) = _only(validate_folder(d), "known-subject")
    assert (p.file, p.column, p.rows) == ("adae.csv", "USUBJID", "row 2")
    assert "RESPINE-09-999" in p.message and "adsl" in p.message


def test_unknown_arm(tmp_path):
    d = _copy(tmp_path)
    _edit(d, "adsl", 2, "TRT01P", "Placebo")
    (p,) = _only(validate_folder(d), "allowed-arm")
    assert (p.file, p.column, p.rows) == ("adsl.csv", "TRT01P", "row 2")
    assert "'Placebo'" in p.message and "BM-MSC" in p.message


def test_unknown_visit(tmp_path):
    d = _copy(tmp_path)
    _edit(d, "adqs", 2, "AVISITN", "9")
    _edit(d, "adimm", 2, "AVISIT", "Week 2")
    probs = _only(validate_folder(d), "allowed-visit")
    where = sorted((p.file, p.column, p.rows) for p in probs)
    assert where == [("adimm.csv", "AVISIT", "row 2"), ("adqs.csv", "AVISITN", "row 2")]


def test_visit_label_must_match_number(tmp_path):
    d = _copy(tmp_path)
    _edit(d, "adqs", 2, "AVISIT", "Month 6")
    (p,) = _only(validate_folder(d), "allowed-visit")
    assert (p.file, p.column, p.rows) == ("adqs.csv", "AVISIT", "row 2")


@pytest.mark.parametrize("col", ["PATIENT_NAME", "DOB", "Email", "BRTHDTC", "POSTCODE"])
def test_identifier_column(tmp_path, col):
    d = _copy(tmp_path)
    a = _read(d, "adsl")
    a[col] = "x"
    _write(d, "adsl", a)
    (p,) = _only(validate_folder(d), "direct-identifier")
    assert p.file == "adsl.csv" and p.column == col.upper()
    assert "looks like a direct identifier" in p.message and "must be removed" in p.message


def test_missing_baseline(tmp_path):
    d = _copy(tmp_path)
    q = _read(d, "adqs")
    q = q[~((q.USUBJID == "RESPINE-02-001") & (q.PARAMCD == "VAS") & (q.AVISITN == "0"))]
    _write(d, "adqs", q)
    probs = _only(validate_folder(d), "baseline-present")
    assert len(probs) == 1
    assert probs[0].file == "adqs.csv" and probs[0].rows == "subject RESPINE-02-001"
    assert "VAS" in probs[0].message


def test_date_before_randomisation(tmp_path):
    d = _copy(tmp_path)
    _edit(d, "adae", 1, "ASTDT", "2019-01-01")  # RANDDT 2019-01-10
    _edit(d, "adae", 1, "ASTDY", "1")
    (p,) = _only(validate_folder(d), "date-order")
    assert (p.file, p.column, p.rows) == ("adae.csv", "ASTDT", "row 1")
    assert "RESPINE-01-001" in p.message


def test_study_day(tmp_path):
    d = _copy(tmp_path)
    _edit(d, "admri", 2, "ADY", "300")
    (p,) = _only(validate_folder(d), "study-day")
    assert (p.file, p.column, p.rows) == ("admri.csv", "ADY", "row 2")


def test_base_and_chg_consistent(tmp_path):
    d = _copy(tmp_path)
    _edit(d, "adqs", 2, "CHG", "-6")  # AVAL 35 - BASE 40 = -5
    _edit(d, "adqs", 5, "BASE", "71")  # baseline VAS is 70
    probs = _only(validate_folder(d), "base-chg")
    where = sorted((p.column, p.rows) for p in probs)
    assert where == [("BASE", "row 5"), ("CHG", "rows 2, 5")]


def test_positivity_flag(tmp_path):
    d = _copy(tmp_path)
    _edit(d, "adimm", 3, "POSFL", "N")  # AVAL 1000 is positive (>= threshold)
    (p,) = _only(validate_folder(d), "positivity-flag")
    assert (p.file, p.column, p.rows) == ("adimm.csv", "POSFL", "row 3")


def test_disposition(tmp_path):
    d = _copy(tmp_path)
    _edit(d, "adsl", 2, "DCSVISN", "3")  # last adqs visit is month 1
    (p,) = _only(validate_folder(d), "disposition")
    assert (p.file, p.column, p.rows) == ("adsl.csv", "DCSVISN", "row 2")


def test_duplicate_format(tmp_path):
    d = _copy(tmp_path)
    _read(d, "adae").to_parquet(d / "adae.parquet")
    (p,) = _only(validate_folder(d), "duplicate-format")
    assert "adae.csv" in p.file and "adae.parquet" in p.file


def test_all_problems_collected_and_raised(tmp_path, capsys):
    d = _copy(tmp_path)
    _edit(d, "adsl", 1, "AGE", "75")
    _edit(d, "adae", 2, "USUBJID", "RESPINE-09-999")
    rules = {p.rule for p in validate_folder(d, minimum=False)}
    assert rules == {"range", "known-subject"}
    with pytest.raises(DataError) as err:
        load_trial(d, minimum=False)
    assert len(err.value.problems) == 2
    text = str(err.value)
    assert "adsl.csv, column AGE, row 1" in text and "adae.csv, column USUBJID, row 2" in text
    assert main(d) == 1
    out = capsys.readouterr().out
    # the command line also applies the minimum-data rules: 1 subject per arm is too few
    assert "4 problem(s)" in out and "[rule: range]" in out and "[rule: known-subject]" in out
    assert out.count("[rule: arm-size]") == 2


def test_main_ok(capsys):
    assert main(SYNTHETIC) == 0
    out = capsys.readouterr().out.strip()
    assert out.count("\n") == 0 and "OK - 114 randomised subjects" in out


def test_many_rows_are_abbreviated(tmp_path):
    d = _copy(tmp_path)
    q = _read(d, "adqs")
    q["STUDYID"] = "OTHER"
    _write(d, "adqs", q)
    (p,) = _only(validate_folder(d), "allowed-values")
    assert p.rows == "rows 1, 2, 3, 4, 5, 6, 7, 8, 9, 10"
    q = pd.concat([q] * 2, ignore_index=True)
    _write(d, "adqs", q)
    (p,) = [x for x in validate_folder(d) if x.rule == "allowed-values"]
    assert p.rows.endswith("(and 10 more)")
