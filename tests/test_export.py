"""CSV and XLSX exports: text never a formula, numbers as numbers, deterministic bytes.

Files are read back with independent readers (the csv module, openpyxl, zipfile)."""

import csv
import time
import zipfile

import openpyxl
import pandas as pd
import pytest

from analysis.export import (
    neutralise,
    numeric_columns,
    parse_number,
    write_table,
    write_xlsx,
)

FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+1+1", "-2+3", "@SUM(A1)",
            "\tTab first", "\rCR first", "=1+1"]


def _table():
    return pd.DataFrame({
        "Term": FORMULAS + ["Back pain", "-"],
        "n": ["3", "12", "0", "7", "1", "2", "5", "40", "–"],
        "Mean (SD)": ["−3.1 (2.0)"] * 9,
        "Diff": ["−3.10", "0.50", "12.00", "-1.25", "0.00", "1.00", "2.00", "3.00", ""],
        "count": list(range(-4, 5)),
        "ratio": [0.5, -1.25, float("nan"), 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
    })


def test_formula_starts_are_prefixed_and_numbers_are_not():
    for f in FORMULAS:
        assert neutralise(f) == "'" + f
    assert neutralise("-2.5") == "-2.5" and neutralise("−3") == "−3"
    assert neutralise(-2) == -2 and neutralise("Back pain") == "Back pain"
    assert neutralise("'=x") == "'=x"  # already text for a spreadsheet


def test_only_plain_decimals_are_numbers():
    assert parse_number("58") == (58, "0")
    assert parse_number("0.770") == (0.77, "0.000")
    assert parse_number("−3.1") == (-3.1, "0.0")
    for text in ("007", "1,234", "12%", "<0.001", "1e5", "+5", "3 (5%)", "", "–", "1.", ".5"):
        assert parse_number(text) is None, text
    assert numeric_columns(_table()) == [False, True, False, True, True, True]


def test_csv_cells_are_the_table_text_with_formulas_neutralised(tmp_path):
    csv_path, _ = write_table(_table(), tmp_path / "t")
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Term", "n", "Mean (SD)", "Diff", "count", "ratio"]
    assert [r[0] for r in rows[1:8]] == ["'" + f.replace("\r", "\n") for f in FORMULAS]
    assert rows[8][0] == "Back pain" and rows[9][0] == "'-"  # a lone "-" is text, not a number
    assert [r[3] for r in rows[1:5]] == ["−3.10", "0.50", "12.00", "-1.25"]
    assert [r[4] for r in rows[1:3]] == ["-4", "-3"]  # real negative numbers untouched
    assert rows[2][5] == "-1.25" and rows[3][5] == ""
    assert b"\r" not in csv_path.read_bytes()  # a CR inside a cell is written as a quoted \n


def test_xlsx_numbers_are_numbers_and_text_is_never_a_formula(tmp_path):
    _, xlsx = write_table(_table(), tmp_path / "t", note="Synthetic data: no real patient.")
    ws = openpyxl.load_workbook(xlsx).active
    assert ws.title == "t"
    assert [c.value for c in ws[1]] == ["Term", "n", "Mean (SD)", "Diff", "count", "ratio"]
    assert all(c.font.b for c in ws[1]) and ws.freeze_panes == "A2"
    for i, f in enumerate(FORMULAS, start=2):
        cell = ws.cell(row=i, column=1)
        assert cell.data_type == "s" and cell.value == "'" + f
    assert ws["B2"].value == 3 and ws["B2"].data_type == "n" and ws["B2"].number_format == "0"
    assert ws["B10"].value == "–" and ws["B10"].data_type == "s"
    assert ws["C2"].value == "−3.1 (2.0)" and ws["C2"].data_type == "s"
    assert ws["D2"].value == pytest.approx(-3.1) and ws["D2"].number_format == "0.00"
    assert ws["D5"].value == pytest.approx(-1.25)
    assert ws["D10"].value is None
    assert ws["E2"].value == -4 and ws["F3"].value == -1.25 and ws["F4"].value is None
    assert ws["A11"].value == "Synthetic data: no real patient." and ws["A11"].font.i
    assert ws.max_row == 11  # one header row, 9 rows, the note
    # widths follow the content: the longest term, and the header's longest word for "Mean (SD)"
    assert ws.column_dimensions["A"].width == len('=HYPERLINK("http://evil.example","click")') + 3
    assert ws.column_dimensions["B"].width == 8
    assert ws.column_dimensions["C"].width == len("−3.1 (2.0)") + 2
    with zipfile.ZipFile(xlsx) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet  # no formula element at all


def test_xlsx_replaces_characters_xml_cannot_hold(tmp_path):
    path = write_xlsx(pd.DataFrame({"a": ["x\x00y\x1bz", "tab\tok"]}), tmp_path / "c.xlsx")
    ws = openpyxl.load_workbook(path).active
    assert ws["A2"].value == "x\ufffdy\ufffdz" and ws["A3"].value == "tab\tok"


def test_xlsx_bytes_are_the_same_at_another_time(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = write_xlsx(_table(), tmp_path / "a" / "t.xlsx")
    time.sleep(1.1)  # openpyxl stamps the current second: it must not reach the file
    b = write_xlsx(_table(), tmp_path / "b" / "t.xlsx")
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as zf:
        assert {i.date_time for i in zf.infolist()} == {(2024, 1, 1, 0, 0, 0)}
        core = zf.read("docProps/core.xml").decode()
    assert core.count("2024-01-01T00:00:00Z") == 2
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1735689600")  # 2025-01-01
    c = write_xlsx(_table(), tmp_path / "c.xlsx")
    with zipfile.ZipFile(c) as zf:
        assert {i.date_time for i in zf.infolist()} == {(2025, 1, 1, 0, 0, 0)}


def test_long_sheet_names_and_forbidden_characters(tmp_path):
    path = write_xlsx(pd.DataFrame({"a": [1]}), tmp_path / "x.xlsx", sheet="a/b:c" + "d" * 40)
    assert openpyxl.load_workbook(path).active.title == "a_b_c" + "d" * 26
