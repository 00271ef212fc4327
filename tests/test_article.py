"""The original-article draft (issue 12): limits, displays, placeholders and the journal DOCX.

The slow tests render the article once per engine (module fixture; Quarto when on PATH) and
count on the rendered DOCX, which must give the same counts and numbering under both; the
fast ones check the section text built from the committed store snapshot and the DOCX
post-processing on a small document.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import pytest

from publishing import article as pubarticle

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic"
STORE = ROOT / "tests" / "fixtures" / "respine_store_before.csv"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _articlelib(spec_path: Path = ROOT / "trials" / "respine" / "trial.yaml",
                store: Path = STORE):
    """``article/articlelib.py`` reading ``spec_path`` and the store ``store``."""
    import importlib.util

    from analysis.results import ResultsStore
    from analysis.spec.load import load_spec

    spec = load_spec(spec_path)
    loader = importlib.util.spec_from_file_location("articlelib_test",
                                                    ROOT / "article" / "articlelib.py")
    mod = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(mod)
    arms = tuple(a.label for a in sorted(spec.arms, key=lambda a: a.order))
    trial = types.SimpleNamespace(spec=spec, arms=arms, control_arm=spec.control_arm,
                                  synthetic=spec.data.synthetic)
    rep = types.SimpleNamespace(trial=trial, spec=spec, store=ResultsStore.from_csv(store))
    mod.report = lambda: rep
    return mod


# ------------------------------------------------------------------ fast: text from the store


def test_abstract_and_main_text_within_limits_from_the_store():
    art = _articlelib()
    c = art.counts()
    assert 100 < c["abstract"] <= 250, c
    assert 800 < c["main"] <= 3500, c
    assert c["displays"] <= 6


def test_text_says_what_the_data_say():
    art = _articlelib()
    abstract = str(art.abstract())
    for head in ("Objectives", "Methods", "Results", "Conclusions",
                 "Trial registration number"):
        assert f"**{head}.**" in abstract
    # the primary population as it is, effect sizes with CIs, immunogenicity with its RD
    assert "observed cases within the randomised population" in abstract
    assert "37/50 (74%)" in abstract and "34/49 (69%)" in abstract
    assert "risk difference 4.6 percentage points (95% CI −12.9 to 21.8)" in abstract
    assert "29/55 (53%) vs 7/55 (13%)" in abstract
    harms = str(art.results_harms())
    assert "19/55 (35%)" in harms and "32.7 percentage points (95% CI 19.1 to 46.0)" in harms
    # the decision is stated once in the whole article
    body = art.abstract_md() + art.main_md()
    assert body.count("success criterion") == 1
    # the conclusion interprets: no numbers in it
    assert not re.search(r"\d", str(art.conclusion()))


def test_declarations_absent_become_placeholders():
    art = _articlelib()
    decl = str(art.declarations())
    found = re.findall(r"\[to be supplied: ([^\\\]]+)", decl)
    assert found == art.placeholders_expected()
    assert "funding" in found and "statistical analysis plan availability" in found


def test_second_trial_without_modules():
    """A trial with one repeated primary endpoint, no screening, AE or immune data: the
    sections still build (from a store holding only its keys) and say nothing of harms."""
    from analysis.results import ResultsStore, result_row

    rows = [result_row("bdi", "difference", -3.1, analysis="mmrm", visit=8,
                       arm="BtheB vs TAU", lower=-6.0, upper=-0.2),
            result_row("bdi", "p_value", 0.04, analysis="mmrm", visit=8, arm="BtheB vs TAU"),
            result_row("bdi", "lsmean", -8.0, analysis="mmrm", visit=8, arm="BtheB",
                       lower=-10.0, upper=-6.0),
            result_row("bdi", "lsmean", -4.9, analysis="mmrm", visit=8, arm="TAU",
                       lower=-7.0, upper=-2.8),
            result_row("baseline", "N", 52, arm="BtheB"),
            result_row("baseline", "N", 48, arm="TAU"),
            result_row("baseline", "N", 100, arm="Overall")]
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.csv"
        ResultsStore.empty().add(rows).to_csv(path)
        art = _articlelib(ROOT / "trials" / "btheb" / "trial.yaml", path)
        abstract = str(art.abstract())
        assert "−3.1 score (95% CI −6.0 to −0.2)" in abstract
        assert "100 participants were randomised" in abstract
        assert str(art.results_harms()) == ("No adverse-event data were available for this "
                                            "report, so harms are not reported.")
        assert "declared no secondary endpoint" in str(art.results_secondary())
        assert not art.harms_present() and art.counts()["displays"] == 3
        assert len(art.outcomes_table()) == 1


def test_journal_docx_postprocessing(tmp_path):
    import pypandoc

    src = tmp_path / "a.md"
    src.write_text("# Abstract\n\nOne two three.\n\n# Introduction\n\nFour five.\n\n"
                   "| a | b |\n|---|---|\n| 1 | 2 |\n\n: Table 1: a table\n", encoding="utf-8")
    out = tmp_path / "a.docx"
    subprocess.run([pypandoc.get_pandoc_path(), str(src), "--toc", "-o", str(out)], check=True)
    pubarticle.journal_docx(out)
    _assert_journal_docx(out)
    c = pubarticle.count_docx(out)
    assert (c["abstract"], c["main"]) == (3, 2)


def _assert_journal_docx(path: Path) -> None:
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("word/document.xml").decode("utf-8")
        footers = [zf.read(n).decode("utf-8") for n in zf.namelist()
                   if re.match(r"word/footer\d*\.xml", n)]
    sect = re.findall(r"<w:sectPr.*?</w:sectPr>", xml, flags=re.S)[-1]
    assert re.search(r'<w:pgSz[^>]*w:w="11906"[^>]*w:h="16838"', sect)  # A4 portrait
    assert "<w:lnNumType" in sect and "<w:footerReference" in sect
    assert any("PAGE" in f and "fldChar" in f for f in footers)
    assert "Table of Contents" not in xml and 'w:val="TOC' not in xml
    assert "<w:tbl>" in xml or "<w:tbl " in xml


# ------------------------------------------------------------------ slow: the rendered article


def _quarto_missing() -> str | None:
    from publishing import quarto

    return None if quarto.usable() else ("the article under Quarto needs Quarto "
                                         f"{quarto.SUPPORTED} on PATH (none found)")


@pytest.fixture(scope="module", params=["builtin", "quarto"])
def rendered(request, tmp_path_factory):
    """The article rendered once per engine (Quarto: skipped, saying why, when absent)."""
    if request.param == "quarto" and _quarto_missing():
        pytest.skip(_quarto_missing())
    out = tmp_path_factory.mktemp(f"article-{request.param}")
    return pubarticle.build(ROOT, DATA, request.param, out, progress=lambda *a: None)


@pytest.mark.slow
def test_article_renders_every_format(rendered):
    names = {p.name for p in rendered.iterdir()}
    assert {"respine-article.html", "respine-article.pdf", "respine-article.docx",
            "counts.json"} <= names


@pytest.mark.slow
def test_rendered_counts_within_limits(rendered):
    c = json.loads((rendered / "counts.json").read_text(encoding="utf-8"))
    assert c == pubarticle.count_docx(rendered / "respine-article.docx")
    assert 100 < c["abstract"] <= 250
    assert 800 < c["main"] <= 3500
    assert c["displays"] <= 6
    assert c["table_numbers"] == list(range(1, c["tables"] + 1))
    assert c["figure_numbers"] == list(range(1, c["figures"] + 1))
    assert c["word_tables"] >= c["tables"]  # real Word tables


@pytest.mark.slow
def test_rendered_placeholders_are_the_absent_items(rendered):
    c = json.loads((rendered / "counts.json").read_text(encoding="utf-8"))
    art = _articlelib()
    decl = set(art.PLACEHOLDER.values())
    assert [p for p in c["placeholders"] if p in decl] == art.placeholders_expected()
    assert set(c["placeholders"]) == set(art.absent_items())


@pytest.mark.slow
def test_rendered_docx_is_what_journals_ask_for(rendered):
    _assert_journal_docx(rendered / "respine-article.docx")


@pytest.mark.slow
def test_rendered_title_page_counts_match_the_docx(rendered):
    import docx

    c = json.loads((rendered / "counts.json").read_text(encoding="utf-8"))
    text = "\n".join(p.text for p in docx.Document(rendered / "respine-article.docx").paragraphs)
    m = re.search(r"abstract (\d+) words; main text (\d+) words", text)
    assert m, "title page word counts missing"
    assert abs(int(m.group(1)) - c["abstract"]) <= 15
    assert abs(int(m.group(2)) - c["main"]) <= 0.05 * c["main"]
    assert f"{c['tables']} tables, {c['figures']} figure" in text


@pytest.mark.slow
def test_rendered_pdf_is_one_article_under_both_engines(rendered):
    """No table of contents, no chapter numbers, no empty chapter pages, one references list."""
    import pypdf

    pages = [p.extract_text() for p in pypdf.PdfReader(rendered / "respine-article.pdf").pages]
    text = "\n".join(pages)
    assert "Contents" not in text and "Bibliography" not in text
    assert text.count("References") == 1
    assert not re.search(r"Table \d+\.\d+", text)
    assert all(len(p.split()) > 12 for p in pages)  # no blank page (the mark is 7 words)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
