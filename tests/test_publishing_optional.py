"""Optional parts of a book (publishing/trial.py): chapters and ``.when`` divs decided by the
trial's specification, the book's metadata from the specification, Quarto's float divs for
tables made in a loop, and cross-references to a label that is gone failing the build.

The book is ``tests/fixtures/book_optional`` rendered with the built-in engine for the
three-arm fixture trial and for the two-arm BtheB example (the Quarto side of the same book is
in tests/test_quarto_real.py)."""

from __future__ import annotations

import html as htmllib
import re
import shutil
from pathlib import Path

import pytest
import yaml

from publishing import trial as T
from publishing.render import render
from publishing.trial import TrialError

ROOT = Path(__file__).resolve().parents[1]
BOOK = Path(__file__).parent / "fixtures" / "book_optional"
THREE = Path(__file__).parent / "fixtures" / "three_arm" / "trial.yaml"
TWO = ROOT / "trials" / "btheb" / "trial.yaml"


def text_of_html(path: Path) -> str:
    body = re.sub(r"<style.*?</style>", " ", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    body = re.sub(r"<[^>]+>", "", body)
    return re.sub(r"\s+", " ", htmllib.unescape(body).replace("\u00a0", " "))


def _copy(tmp_path: Path, name: str = "book") -> Path:
    dest = tmp_path / name
    shutil.copytree(BOOK, dest)
    return dest


# --- units --------------------------------------------------------------------------------------


def test_filter_divs_drops_unwraps_and_leaves_code_alone():
    text = ("a\n::: {.when x=\"1\"}\nKEEP\n:::\n::: {.when x=\"0\"}\nDROP\n::: {.note}\nIN\n"
            ":::\n```{python}\nprint(':::')\n```\n:::\n```\n::: {.when x=\"0\"}\n```\n"
            "::: {.when x=\"1\" .callout-tip}\nTIP\n:::\nz\n")
    new, removed = T.filter_divs(text, lambda c: c["x"] == "1")
    assert new == ("a\nKEEP\n```\n::: {.when x=\"0\"}\n```\n::: {.callout-tip}\nTIP\n:::\n"
                   "z\n")
    assert [(line, cond) for line, cond, _ in removed] == [(5, "x=0")]
    assert "IN" in removed[0][2] and "print(':::')" in removed[0][2]


def test_an_unclosed_when_div_and_an_unknown_condition_are_named():
    with pytest.raises(TrialError, match="ch.qmd: a `.when` div is not closed"):
        T.filter_divs("::: {.when x=\"1\"}\ntext\n", lambda c: True, "ch.qmd")
    spec = T.load(THREE)
    with pytest.raises(TrialError, match=r"ch.qmd:2: .*unknown condition\(s\) colour"):
        T.filter_divs("x\n::: {.when colour=\"red\"}\ny\n:::\n",
                      lambda c: __import__("analysis.spec.conditions").spec.conditions.holds(
                          spec, set(), c), "ch.qmd")


def test_book_metadata_comes_from_the_specification():
    meta = T.book_metadata(T.load(THREE))
    assert meta == {"title": "A three-arm test trial",
                    "subtitle": "The TRIO randomised controlled trial: analysis report",
                    "author": [{"name": "[to be supplied: authors]"}],
                    "output-file": "trio-report"}


def test_the_project_book_is_a_trial_free_template():
    config = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    assert not {"title", "subtitle", "author", "output-file"} & set(config["book"])
    assert "RESPINE" not in (ROOT / "_quarto.yml").read_text(encoding="utf-8")


def test_select_leaves_out_failing_chapters_parts_and_divs(tmp_path):
    root = _copy(tmp_path)
    spec = T.load(THREE)
    sel = T.select(root, spec, T.available_datasets(spec.data.folder))
    config = yaml.safe_load((root / "_quarto.yml").read_text(encoding="utf-8"))
    assert config["book"]["chapters"] == ["index.qmd", {"part": "Results",
                                                       "chapters": ["chapters/results.qmd"]}]
    assert config["book"]["title"] == "A three-arm test trial"
    assert config["book"]["output-file"] == "trio-report"
    assert sel.chapters == ["chapters/harms.qmd"]
    assert {"tbl-ae", "tbl-harms", "sec-harms"} <= set(sel.removed)
    assert "tbl-arms" not in sel.removed  # three arms: that part holds
    text = (root / "chapters" / "results.qmd").read_text(encoding="utf-8")
    assert "THREE-ARM-TEXT" in text and "ADVERSE-EVENT-TEXT" not in text
    assert "TWO-ARM-TEXT" not in text and ".when" not in text
    assert "::: {.callout-note}\nKEPT-CALLOUT-TEXT" in text
    assert T.dangling_references(root, sel) == []


def test_a_reference_to_a_part_left_out_fails_before_anything_runs(tmp_path):
    root = _copy(tmp_path)
    index = root / "index.qmd"
    index.write_text(index.read_text(encoding="utf-8") + "\nSee @tbl-ae and @sec-harms.\n")
    with pytest.raises(TrialError) as err:
        render(root, THREE.parent / "data", "builtin", tmp_path / "out", results=False,
               progress=lambda *a: None, trial=THREE)
    msg = str(err.value)
    assert "index.qmd: @tbl-ae refers to a part left out for this trial" in msg
    assert "chapters/results.qmd" in msg and "module=adverse_events does not hold" in msg
    assert "index.qmd: @sec-harms" in msg and "chapters/harms.qmd" in msg
    assert not (tmp_path / "out").exists()


def test_a_reference_to_no_label_at_all_fails_the_builtin_render(tmp_path):
    root = _copy(tmp_path)
    app = root / "chapters" / "app.qmd"
    app.write_text(app.read_text(encoding="utf-8") + "\nAnd @fig-nowhere.\n")
    with pytest.raises(TrialError, match=r"chapters/app.qmd: @fig-nowhere \(no such label\)"):
        render(root, THREE.parent / "data", "builtin", tmp_path / "out", results=False,
               progress=lambda *a: None, trial=THREE)


# --- rendered -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("optional-three")
    root = _copy(tmp)
    files = render(root, THREE.parent / "data", "builtin", tmp / "out", results=False,
                   progress=lambda *a: None, trial=THREE)
    return tmp / "out", files


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("optional-two")
    root = _copy(tmp)
    files = render(root, TWO.parent / "data", "builtin", tmp / "out", results=False,
                   progress=lambda *a: None, trial=TWO)
    return tmp / "out", files


def test_outputs_are_named_after_the_trial(three, two):
    assert sorted(f.name for f in three[1]) == ["trio-report.docx", "trio-report.html",
                                                "trio-report.pdf"]
    assert sorted(f.name for f in two[1])[0] == "btheb-report.docx"


def test_three_arm_book_keeps_its_part_and_numbers_the_loop_tables(three):
    out, _ = three
    text = text_of_html(out / "trio-report.html")
    assert "A three-arm test trial" in text and "[to be supplied: authors]" in text
    assert "THREE-ARM-TEXT: each experimental arm against the control (Table 1.2)" in text
    for gone in ("ADVERSE-EVENT-TEXT", "NESTED-DROPPED-TEXT", "TWO-ARM-TEXT",
                 "HARMS-CHAPTER-TEXT", "Harms"):
        assert gone not in text
    assert "KEPT-CALLOUT-TEXT" in text
    assert "Table 1.1: A fixed table" in text and "Table 1.2: Three arms" in text
    assert "Table 1.3: Loop table for score" in text and "Table 1.4: Loop table for qol" in text
    assert "The loop made Table 1.3 and Table 1.4." in text
    assert "the loop tables are Table 1.3 and Table 1.4" in text
    assert "APPENDIX-TEXT, back to Chapter 1 and Table 1.1." in text


def test_two_arm_book_drops_the_three_arm_part_and_renumbers(two):
    out, _ = two
    text = text_of_html(out / "btheb-report.html")
    assert "THREE-ARM-TEXT" not in text and "Three arms" not in text
    assert "TWO-ARM-TEXT" in text
    assert "Table 1.2: Loop table for score" in text and "Table 1.3: Loop table for qol" in text
    assert "The loop made Table 1.2 and Table 1.3." in text


def test_loop_tables_are_numbered_in_pdf_and_docx(three):
    import docx
    import pypdf

    out, _ = three
    pdf = "\n".join(p.extract_text() for p in pypdf.PdfReader(out / "trio-report.pdf").pages)
    pdf = pdf.replace("\u00a0", " ")
    assert "Table 1.3: Loop table for score" in pdf and "ADVERSE-EVENT-TEXT" not in pdf
    d = docx.Document(str(out / "trio-report.docx"))
    paras = "\n".join(p.text for p in d.paragraphs).replace("\u00a0", " ")
    assert "Table 1.4: Loop table for qol" in paras and "HARMS-CHAPTER-TEXT" not in paras
    assert len(d.tables) == 4
