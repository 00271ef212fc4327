"""Tests of analysis.validation: one small broken fixture per rule; messages name the file,
column, row (1-based data row) or subject, and the rule."""

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis.data import DataError, load_trial
from analysis.validation import _looks_like_identifier, main, validate_folder

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


# ---------------------------------------------------------------------------- issue 15 rules


@pytest.mark.parametrize("name", ["TEL_MOBILE", "PATIENT_NAME", "EMAILADDR", "DOB_DT", "DOBDT",
                                  "PATIENTNAME", "PHONE1", "HOME_ADDRESS", "ZIP_CODE", "BRTHDTC",
                                  "E-MAIL", "FIRST_NAME", "TELNO", "MRN", "EMAIL_ADDRESS",
                                  "PAT_PHONE", "INITIALS"])
def test_identifier_parts_are_refused(name):
    assert _looks_like_identifier(name, set())


@pytest.mark.parametrize("name", ["AGE", "AGEU", "SITEID", "SUBJID", "USUBJID", "TRTSDT",
                                  "AVISITN", "PARAMCD", "SITE_NAME", "INVNAM", "AEDECOD", "ADY",
                                  "DTHDT", "COUNTRY", "RANDDT", "TRT01A", "ASTDT", "DOMAIN",
                                  "CMDECOD", "SRCSEQ", "BASETYPE", "AVALC"])
def test_legitimate_adam_names_are_allowed(name):
    assert not _looks_like_identifier(name, set())


def test_identifier_column_in_file(tmp_path):
    d = _copy(tmp_path)
    df = _read(d, "adsl")
    df["TEL_MOBILE"] = "0600000000"
    _write(d, "adsl", df)
    (p,) = _only(validate_folder(d, minimum=False), "direct-identifier")
    assert (p.file, p.column) == ("adsl.csv", "TEL_MOBILE")


def test_encoding_error_names_line_column_and_encoding(tmp_path):
    d = _copy(tmp_path)
    text = (d / "adsl.csv").read_text(encoding="utf-8").replace("Paris Cochin", "Paris Cochiné")
    raw = text.encode("cp1252")
    (d / "adsl.csv").write_bytes(raw)
    (p,) = _only(validate_folder(d, minimum=False), "encoding")
    # the accented letter is on file line 3 (data row 2), in the fifth field (SITE)
    assert (p.file, p.column, p.rows) == ("adsl.csv", "SITE", "line 3")
    offset = raw.index("é".encode("cp1252"))
    assert f"byte 0xE9 at byte offset {offset} " in p.message
    assert "data row 2" in p.message and "Windows-1252/Latin-1" in p.message
    # a byte that is not Windows-1252 either (0x81 is undefined there): no false suggestion
    (d / "adsl.csv").write_bytes(raw.replace(b"\xe9", b"\x81"))
    (p,) = _only(validate_folder(d, minimum=False), "encoding")
    assert "could not be recognised" in p.message


def test_bom_and_crlf_are_accepted(tmp_path):
    d = _copy(tmp_path)
    raw = (d / "adsl.csv").read_bytes()
    (d / "adsl.csv").write_bytes(b"\xef\xbb\xbf" + raw.replace(b"\n", b"\r\n"))
    assert validate_folder(d, minimum=False) == []


def test_empty_file_and_header_only(tmp_path):
    d = _copy(tmp_path)
    (d / "admri.csv").write_bytes(b"")
    _write(d, "adsl", _read(d, "adsl").iloc[0:0])
    probs = validate_folder(d, minimum=False)
    assert [str(p) for p in probs if p.rule in ("empty-file", "empty-dataset")] == [
        "admri.csv, line 1: the file is empty (not even a header line) [rule: empty-file]",
        "adsl.csv: the dataset is empty (header only) [rule: empty-dataset]"]
    assert not [p for p in probs if p.rule == "known-subject"]  # not as orphans elsewhere
    _write(d, "adae", _read(d, "adae").iloc[0:0])  # no adverse event at all is allowed
    assert not [p for p in validate_folder(d, minimum=False) if p.file == "adae.csv"]


def _yaml(folder, text):
    (folder / "dataset.yaml").write_text(text, encoding="utf-8")


def test_yaml_syntax_error_names_line_and_column(tmp_path):
    d = _copy(tmp_path)
    _yaml(d, "name: x\nsynthetic: true\ndescription: a: b\n")
    (p,) = validate_folder(d, minimum=False)
    assert str(p) == ("dataset.yaml, line 3, column 15: invalid YAML: mapping values are not "
                      "allowed here [rule: yaml-syntax]")
    with pytest.raises(DataError, match="line 3, column 15"):
        load_trial(d, minimum=False)


def test_yaml_keys_and_types(tmp_path):
    d = _copy(tmp_path)
    _yaml(d, "name: x\nsynthetic: 'yes'\nsynthethic: true\ncutoff: 31/12/2024\nseed: 1.5\n")
    probs = {p.column: p for p in validate_folder(d, minimum=False)}
    assert set(probs) == {"synthetic", "synthethic", "cutoff", "seed"}
    assert all(p.rule == "dataset-yaml" for p in probs.values())
    assert (probs["synthetic"].rows, probs["synthethic"].rows, probs["cutoff"].rows,
            probs["seed"].rows) == ("line 2", "line 3", "line 4", "line 5")
    assert "expected true or false" in probs["synthetic"].message
    assert "unknown key 'synthethic'" in probs["synthethic"].message
    _yaml(d, "name: x\nsynthetic: true\ncutoff: 2024-12-31\nn_randomised: 2\n")
    assert validate_folder(d, minimum=False) == []


def test_dates_after_cutoff_and_in_the_future(tmp_path):
    d = _copy(tmp_path)
    _yaml(d, "cutoff: 2019-05-31\n")
    probs = validate_folder(d, minimum=False, today=dt.date(2021, 12, 31))
    late = {(p.file, p.column, p.rows) for p in probs if p.rule == "after-cutoff"}
    # independent check: every date column of every file, compared with the cut-off
    expect = set()
    for name in ("screening", "adsl", "adqs", "admri", "adimm", "adae"):
        df = _read(d, name)
        for col in df.columns:
            if col in ("RANDDT", "TRTSDT", "ADT", "ASTDT"):
                rows = [i + 1 for i, v in enumerate(df[col]) if v and v > "2019-05-31"]
                if rows:
                    expect.add((f"{name}.csv", col, ("row " if len(rows) == 1 else "rows ")
                                + ", ".join(map(str, rows))))
    assert late == expect and late
    assert not [p for p in probs if p.rule == "future-date"]
    (d / "dataset.yaml").unlink()
    (p,) = [p for p in validate_folder(d, minimum=False, today=dt.date(2020, 6, 1))
            if p.rule == "future-date"]
    # only the month-24 visits (2021-01-12) of adqs rows 3 and 6 are after 2020-06-01
    assert (p.file, p.column, p.rows) == ("adqs.csv", "ADT", "rows 3, 6")
    assert "later than today (2020-06-01)" in p.message


def test_committed_cutoff_is_the_latest_date():
    import yaml

    latest = max(v for name in ("screening", "adsl", "adqs", "admri", "adimm", "adae")
                 for col, vals in _read(SYNTHETIC, name).items()
                 if col in ("RANDDT", "TRTSDT", "ADT", "ASTDT") for v in vals if v)
    meta = yaml.safe_load((SYNTHETIC / "dataset.yaml").read_text(encoding="utf-8"))
    assert meta["cutoff"].isoformat() == latest


def test_unknown_extra_dataset_is_noted_once(tmp_path, capsys):
    d = tmp_path / "data"
    shutil.copytree(SYNTHETIC, d)
    pd.DataFrame({"USUBJID": ["RESPINE-01-001"]}).to_csv(d / "adcm.csv", index=False)
    (d / "README.txt").write_text("not a data format\n", encoding="utf-8")
    assert main(d) == 0
    out = capsys.readouterr().out
    assert out.count("adcm.csv") == 1 and "note: adcm.csv is not a dataset" in out
    assert "README" not in out


def test_minimum_data_rules(tmp_path):
    d = _copy(tmp_path)
    probs = validate_folder(d)  # 1 subject per arm: too few for the models
    assert {(p.rule, p.file, p.column, p.rows) for p in probs} == {
        ("arm-size", "adsl.csv", "TRT01P", "row 1"), ("arm-size", "adsl.csv", "TRT01P", "row 2")}


# ------------------------------------------------------------ command line and specification
ROOT = Path(__file__).resolve().parents[1]
BTHEB = ROOT / "trials" / "btheb"


def _cli(monkeypatch, capsys, *argv):
    from analysis.__main__ import main as cli

    monkeypatch.setenv("REPORT_TRIAL", str(ROOT / "trials" / "respine"))  # restored after
    code = cli(list(argv))
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out, out.err


def _spec_copy(tmp_path, edit):
    """A copy of BtheB's specification (data folder absolute) with ``edit`` applied."""
    text = (BTHEB / "trial.yaml").read_text(encoding="utf-8")
    text = text.replace("folder: data", f"folder: {BTHEB / 'data'}")
    text = edit(text)
    (tmp_path / "trial.yaml").write_text(text, encoding="utf-8")
    for rel in ("text",):
        if (BTHEB / rel).exists():
            shutil.copytree(BTHEB / rel, tmp_path / rel, dirs_exist_ok=True)
    return tmp_path / "trial.yaml"


def _mkdir(p: Path) -> Path:
    p.mkdir()
    return p


def test_cli_validate_another_trial(monkeypatch, capsys):
    code, out, _ = _cli(monkeypatch, capsys, "validate", "--trial", str(BTHEB))
    assert code == 0 and "OK - 100 randomised subjects" in out and "(BtheB)" in out


def test_cli_rule_on_undeclared_endpoint(monkeypatch, capsys, tmp_path):
    spec = _spec_copy(tmp_path, lambda t: t.replace("{endpoint: bdi, improvement",
                                                    "{endpoint: bdx, improvement"))
    code, _, err = _cli(monkeypatch, capsys, "validate", "--trial", str(spec))
    assert code == 1
    line = next(x for x in err.splitlines() if "bdx" in x)
    assert "trial.yaml:" in line and "responder_rules.halved.condition.endpoint" in line
    assert "[rules: endpoint]" in line


def test_cli_invalid_yaml(monkeypatch, capsys, tmp_path):
    (tmp_path / "trial.yaml").write_text("spec_version: 1\ntrial: [a\n", encoding="utf-8")
    code, _, err = _cli(monkeypatch, capsys, "results", "--trial", str(tmp_path),
                        "--out", str(tmp_path / "out"))
    assert code == 2 and "trial.yaml:3:1: invalid YAML" in err and "[yaml]" in err
    assert not (tmp_path / "out").exists()


def test_cli_endpoint_without_dataset(monkeypatch, capsys, tmp_path):
    spec = _spec_copy(tmp_path, lambda t: t.replace("dataset: adqs", "dataset: adbdi"))
    code, out, _ = _cli(monkeypatch, capsys, "validate", "--trial", str(spec))
    assert code == 1
    assert "adbdi.{csv/parquet/xpt/sas7bdat}: required dataset adbdi not found " \
           "[rule: file-present]" in out


def test_cli_unknown_arm_and_visit_not_in_data(monkeypatch, capsys, tmp_path):
    spec = _spec_copy(tmp_path, lambda t: t.replace("label: TAU", "label: Usual care").replace(
        "{avisitn: 8, label: Month 8, time: 8}",
        "{avisitn: 8, label: Month 8, time: 8}\n    - {avisitn: 12, label: Month 12, time: 12}"))
    code, out, _ = _cli(monkeypatch, capsys, "validate", "--trial", str(spec))
    assert code == 1
    assert "adsl.csv, column TRT01P, rows 1" in out and "'TAU'" in out \
           and "[rule: allowed-arm]" in out
    code, out, _ = _cli(monkeypatch, capsys, "validate", "--trial",
                        str(_spec_copy(_mkdir(tmp_path / "b"), lambda t: t.replace(
                            "{avisitn: 8, label: Month 8, time: 8}",
                            "{avisitn: 8, label: Month 8, time: 8}\n"
                            "    - {avisitn: 12, label: Month 12, time: 12}"))))
    assert code == 1
    line = next(x for x in out.splitlines() if "spec-visit" in x)
    assert "visits.schedule[5].avisitn, line" in line and "visit 12 (Month 12)" in line
