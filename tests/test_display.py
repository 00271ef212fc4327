import base64

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from analysis.displays.display import (
    column_widths,
    figure_dir,
    figure_files,
    markdown_table,
    show_figure,
    show_markdown,
)
from analysis.escape import Markdown


def test_markdown_table_header_rule_and_rows():
    df = pd.DataFrame({"Arm": ["BM-MSC", "Sham"], "n": [58, 56]})
    lines = markdown_table(df).split("\n")
    assert lines[0] == "| Arm | n |"
    # "BM-MSC" (capitals 1.3): 8, a short label that never wraps: 1.3 x 8 + 3; minimum 6 for n
    assert lines[1] == "|:--------------|------:|"
    assert lines[2:] == ["| BM\\-MSC | 58 |", "| Sham | 56 |"]  # text escaped: "BM-MSC"


def test_markdown_table_escapes_pipes_and_blanks_missing():
    df = pd.DataFrame({"a": ["x|y", None], "b": [1.5, float("nan")]})
    text = markdown_table(df)
    assert "x\\|y" in text
    assert text.split("\n")[-1] == "|  |  |"


def test_column_widths_cap_the_label_column():
    df = pd.DataFrame({"Characteristic": ["x" * 80], "Value": ["12.3 (4.5)"]})
    assert column_widths(df) == [30, 16]  # 1.3 x 10 characters + 3 (numbers cannot wrap)


def test_column_widths_use_the_longest_header_word_not_the_whole_header():
    df = pd.DataFrame({"BM-MSC LS mean (SE)": ["−14.9 (2.6)"], "p": ["0.019"]})
    assert column_widths(df) == [13, 10]  # "−14.9 (2.6)": 11 + 2; the header wraps; 7 + 3


def _export(tmp_path, name="f"):
    from analysis.displays.figio import save_figure

    fig = plt.figure(figsize=(2, 1))
    fig.text(0.5, 0.5, "exported")
    save_figure(fig, tmp_path / "figures" / name)
    plt.close(fig)
    return tmp_path / "figures"


def test_show_figure_embeds_the_exported_files_byte_for_byte(monkeypatch, tmp_path):
    folder = _export(tmp_path)
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    show_figure("f", folder=folder, alt="A figure")
    assert set(shown[0]) == {"image/png", "image/svg+xml", "text/plain"}
    assert base64.b64decode(shown[0]["image/png"]) == (folder / "f.png").read_bytes()
    assert shown[0]["image/svg+xml"] == (folder / "f.svg").read_text(encoding="utf-8")
    assert shown[0]["text/plain"] == "<A figure>"


def test_figures_are_found_beside_the_staged_results(monkeypatch, tmp_path):
    folder = _export(tmp_path, "consort")
    (tmp_path / "results.csv").write_text("")
    monkeypatch.setenv("REPORT_RESULTS", str(tmp_path / "results.csv"))
    assert figure_dir() == folder
    assert figure_files("consort")["svg"] == folder / "consort.svg"


def test_a_figure_that_was_not_exported_is_a_clear_error(tmp_path):
    folder = _export(tmp_path, "consort")
    with pytest.raises(FileNotFoundError, match=r"'forest' was not exported .*consort"):
        figure_files("forest", folder)


def test_text_columns_are_left_aligned_and_numbers_right():
    df = pd.DataFrame({"Term": ["Back pain"], "Outcome": ["Recovered"], "n (%)": ["3 (5%)"],
                       "p": ["<0.001"]})
    assert markdown_table(df).split("\n")[1].split("|")[1:-1] == [
        ":----------------", ":----------------", "-----------:", "-----------:"]


def test_long_text_columns_are_capped():
    df = pd.DataFrame({"Column": ["AGE"], "Values": ["x " * 100]})
    assert column_widths(df) == [10, 40]  # "Column": 5 + 1.3 rounded up, + 3 (short labels)


def test_cells_and_headers_are_text_and_only_markdown_cells_are_markup():
    df = pd.DataFrame({"<b>Arm</b>": [Markdown("**{}**").format("*SOC*"), "[x](http://e.x)"],
                       "n": ["$1$", "@key"]})
    lines = str(markdown_table(df)).split("\n")
    assert lines[0] == "| \\<b\\>Arm\\<\\/b\\> | n |"
    assert lines[2] == "| **\\*SOC\\*** | \\$1\\$ |"
    assert lines[3] == "| \\[x\\]\\(http\\:\\/\\/e\\.x\\) | \\@key |"


def test_widths_and_alignment_follow_the_shown_text_not_its_escapes():
    df = pd.DataFrame({"a": ["x"], "b": ["-1.5"], "c": ["a*b*c*d*e*f*g"]})
    assert column_widths(df) == [5, 9, 15]  # "a*b*c*d*e*f*g": 13 characters + 2, not 19
    assert str(markdown_table(df)).split("\n")[1] == "|:-----|---------:|:---------------|"


def test_show_markdown_escapes_plain_text_and_keeps_markdown():
    assert show_markdown("**x** <i>")._repr_markdown_() == "\\*\\*x\\*\\* \\<i\\>"
    assert show_markdown(Markdown("**x**"))._repr_markdown_() == "**x**"


def test_short_labels_and_numbers_never_wrap_but_long_text_does():
    df = pd.DataFrame({"Outcome": ["Pain VAS (mm)"], "Visit": ["Month 12"],
                       "Note": ["a long free-text remark"], "Mean (SD)": ["−1.2 (3.4)"]})
    row = str(markdown_table(df)).split("\n")[2]
    assert row == ("| Pain VAS \\(mm\\) | Month\u00a012 | a long free\\-text remark | "
                   "−1\\.2\u00a0\\(3\\.4\\) |")
