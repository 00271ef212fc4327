"""Engine tests on the fixture book (tests/fixtures/book) and small units of publishing."""

from __future__ import annotations

import hashlib
import html as htmllib
import re
import sys
from pathlib import Path

import docx
import pypdf
import pytest

from publishing import book as bookmod
from publishing import notice, provenance, qmd
from publishing.__main__ import main
from publishing.render import publish, render

FIXTURE = Path(__file__).parent / "fixtures" / "book"
NBSP = "\u00a0"


def text_of_html(path: Path) -> str:
    raw = path.read_text(encoding="utf-8")
    body = re.sub(r"<style.*?</style>", " ", raw, flags=re.DOTALL)
    body = re.sub(r"<[^>]+>", "", body)
    return re.sub(r"\s+", " ", htmllib.unescape(body).replace(NBSP, " "))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("fixture-out")
    files = render(FIXTURE, FIXTURE / "data", "builtin", out, results=False,
                   progress=lambda *a: None)
    return out, files


# --- qmd -----------------------------------------------------------------------------------


def test_cell_options_are_parsed_and_stripped():
    opts, code = qmd.cell_options('#| label: fig-a\n#| fig-cap: "A: b"\n#| echo: true\nx = 1')
    assert opts == {"label": "fig-a", "fig-cap": "A: b", "echo": True}
    assert code == "x = 1"


def test_parse_splits_python_chunks_but_not_four_backtick_fences(tmp_path):
    text = ("---\ntitle: T\n---\n\n# H\n\n```{python}\n#| label: tbl-x\ny = 2\n```\n\n"
            "````markdown\n```{python}\nprint(1)\n```\n````\n")
    doc = qmd.parse(text, tmp_path / "c.qmd")
    assert doc.meta == {"title": "T"}
    assert [c.kind for c in doc.cells] == ["markdown", "code", "markdown"]
    assert doc.cells[1].label == "tbl-x" and doc.cells[1].source == "y = 2"
    assert "print(1)" in doc.cells[2].source


def test_include_shortcode_is_expanded_relative_to_the_file(tmp_path):
    (tmp_path / "_part.qmd").write_text("---\nx: 1\n---\nIncluded `{python} 1 + 1`.\n")
    doc = qmd.parse("Before.\n\n{{< include _part.qmd >}}\n\nAfter.\n", tmp_path / "c.qmd")
    src = "\n".join(c.source for c in doc.cells)
    assert "Included `{python} 1 + 1`." in src and "x: 1" not in src


def test_missing_include_is_an_error(tmp_path):
    with pytest.raises(qmd.QmdError, match="_nope.qmd"):
        qmd.parse("{{< include _nope.qmd >}}\n", tmp_path / "c.qmd")


# --- book ----------------------------------------------------------------------------------


def test_book_entries_parts_and_appendices():
    b = bookmod.load(FIXTURE)
    kinds = [(e.kind, e.path.name if e.path else e.title) for e in b.entries]
    assert kinds == [("chapter", "index.qmd"), ("chapter", "one.qmd"), ("part", "Results"),
                     ("chapter", "two.qmd"), ("part", "Appendices"), ("appendix", "app.qmd")]
    assert b.name == "fixture" and b.authors == ["Test Author"]
    assert b.execute["echo"] is False


def test_book_name_defaults_to_a_slug_of_the_title(tmp_path):
    (tmp_path / "_quarto.yml").write_text("book:\n  title: 'My Book: A Study'\n")
    assert bookmod.load(tmp_path).name == "my-book-a-study"


def test_missing_chapter_is_reported(tmp_path):
    (tmp_path / "_quarto.yml").write_text("book:\n  chapters: [nothere.qmd]\n")
    with pytest.raises(FileNotFoundError, match="nothere.qmd"):
        bookmod.load(tmp_path)


# --- the fixture book, rendered --------------------------------------------------------------


def test_three_outputs_exist(rendered):
    out, files = rendered
    assert sorted(f.name for f in files) == ["fixture.docx", "fixture.html", "fixture.pdf"]
    assert all((out / f.name).stat().st_size > 1000 for f in files)


def test_html_cross_references_are_numbered_like_quarto_books(rendered):
    out, _ = rendered
    raw = (out / "fixture.html").read_text(encoding="utf-8")
    text = text_of_html(out / "fixture.html")
    # chapter-numbered floats; unnumbered preface; appendix letters
    assert "See Figure 1.1, Table 1.1 and Section 2.1, and 1.1 alone." in text
    assert "Back to Figure 1.1 and Table 1.1; forward to Table 2.1." in text
    assert "See Figure 2.1 and the appendix Appendix A." in text
    assert "Appendix table: Table A.1." in text
    assert re.search(r'<a href="#fig-line"[^>]*>Figure.1\.1</a>', raw)
    assert 'id="fig-line"' in raw and 'id="tbl-small"' in raw and 'id="tbl-frame"' in raw
    # captions carry the numbers
    assert "Figure 1.1: A line through three points" in text
    assert "Table 2.1: A data frame shown as HTML" in text
    # headings numbered; the unnumbered preface and parts are not
    assert "1 First chapter" in text and "1.1 A section" in text and "2.1 Sub" in text
    assert "A An appendix" in text and " 1 Preface" not in text
    assert "?@" not in text and "{python}" not in text


def test_html_inline_values_echo_and_hidden_output(rendered):
    out, _ = rendered
    text = text_of_html(out / "fixture.html")
    assert "The answer is 42." in text
    assert "The value is 42 and the word is alpha; the folder is chapters." in text
    assert "Included text with value 43." in text
    assert 'shown = "echoed code"' in text  # echo: true
    assert "value = 21 * 2" not in text  # echo: false by default
    assert "HIDDEN-INCLUDE" not in text and "HIDDEN-OUTPUT" not in text


def test_html_tables_callouts_citations_and_notice(rendered):
    out, _ = rendered
    raw = (out / "fixture.html").read_text(encoding="utf-8")
    text = text_of_html(out / "fixture.html")
    assert raw.count("<table") == 3  # markdown, DataFrame (HTML) and appendix tables
    assert re.search(r"<caption>\s*Table.1\.1: A small table", raw)
    assert re.search(r'class="callout callout-note"', raw) and "Remember" in text
    assert "We cite a paper [1]." in text and "Doe J, Roe R. A fixture article." in text
    assert notice.SYNTHETIC in text and 'class="pub-notice"' in raw
    # self-contained: images embedded, nothing fetched from the network
    assert "data:image/png;base64," in raw
    assert not re.search(r'src="https?://|<link[^>]+href="https?://', raw)  # no fetched resource


def test_pdf_has_text_numbers_and_notice_on_every_page(rendered):
    out, _ = rendered
    reader = pypdf.PdfReader(out / "fixture.pdf")
    pages = [p.extract_text() for p in reader.pages]
    assert all(notice.SYNTHETIC in p for p in pages)
    text = re.sub(r"\s+", " ", " ".join(pages)).replace(NBSP, " ")
    assert "Figure 1.1: A line through three points" in text
    assert "Table A.1: Appendix table" in text
    assert "?@" not in text and "{python}" not in text


def test_pdf_part_pages_hold_their_first_chapter(rendered):
    """A part heading starts a page and its first chapter follows on that page; every other
    chapter starts a page of its own."""
    out, _ = rendered
    pages = [re.sub(r"\s+", " ", p.extract_text()) for p in
             pypdf.PdfReader(out / "fixture.pdf").pages]

    def page_of(text: str) -> int:
        return next(i for i, p in enumerate(pages) if text in p and "Contents" not in p)

    assert page_of("Results") == page_of("Second chapter")
    assert page_of("Appendices") == page_of("An appendix")
    assert page_of("First chapter") < page_of("Results")
    assert page_of("Preface") < page_of("First chapter")


def test_docx_has_real_tables_headings_and_header_notice(rendered):
    out, _ = rendered
    d = docx.Document(str(out / "fixture.docx"))
    assert len(d.tables) == 3
    assert [[c.text for c in r.cells] for r in d.tables[0].rows] == [["Arm", "n"], ["A", "3"],
                                                                     ["B", "4"]]
    assert all(notice.SYNTHETIC in s.header.paragraphs[0].text for s in d.sections)
    headings = [p.text for p in d.paragraphs if p.style.name.startswith("Heading")]
    assert "1 First chapter" in headings and "A An appendix" in headings
    captions = [p.text.replace(NBSP, " ") for p in d.paragraphs if "Caption" in p.style.name]
    assert "Figure 1.1: A line through three points" in captions



def test_inline_values_are_inserted_as_quarto_does():
    # quarto-cli src/core/jupyter/jupyter-inline.ts: a quoted text/plain repr is unquoted and
    # markdown-escaped; text/markdown (IPython.display.Markdown) is inserted as is.
    from publishing.kernel import inline_markdown

    assert inline_markdown({"text/plain": "'BM-MSC'"}) == "BM\\-MSC"
    assert inline_markdown({"text/plain": '"it\'s *x*"'}) == "it's \\*x\\*"
    assert inline_markdown({"text/plain": "42"}) == "42"
    assert inline_markdown({"text/plain": "np.float64(0.5)"}) == "np.float64(0.5)"
    assert inline_markdown({"text/markdown": "*em*", "text/plain": "<Markdown>"}) == "*em*"
    # one backslash: repr doubles it, Quarto doubles and escapes again (quarto-cli #11291)
    assert inline_markdown({"text/plain": repr("a\\b")}) == "a" + "\\" * 8 + "b"


def test_inline_str_is_literal_text_and_markdown_is_markup(tmp_path):
    project = _small_book(tmp_path / "p", "# A\n\n```{python}\nfrom IPython.display import "
                          "Markdown\n```\n\nPlain `{python} '*lit* [x]'` and "
                          "`{python} Markdown('*em*')`.\n")
    render(project, None, "builtin", tmp_path / "out", results=False, progress=lambda *a: None)
    raw = (tmp_path / "out" / "small.html").read_text(encoding="utf-8")
    assert "Plain *lit* [x] and <em>em</em>." in raw


# --- failures and atomic publish ------------------------------------------------------------


def _small_book(root: Path, chapter: str) -> Path:
    (root / "chapters").mkdir(parents=True)
    (root / "_quarto.yml").write_text(
        "book:\n  title: Small\n  output-file: small\n  chapters:\n    - chapters/a.qmd\n")
    (root / "chapters" / "a.qmd").write_text(chapter)
    return root


def test_failing_cell_names_chapter_label_and_traceback_and_keeps_output(tmp_path, capsys):
    project = _small_book(tmp_path / "p", "# A\n\n```{python}\n#| label: fig-bad\n"
                          "def f():\n    raise ValueError('boom-123')\nf()\n```\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "previous.txt").write_text("old output")
    code = main(["render", "--project", str(project), "--no-results", "--out", str(out),
                 "--engine", "builtin"])
    err = capsys.readouterr().err
    assert code == 1
    assert "chapters/a.qmd" in err and "fig-bad" in err
    assert "ValueError" in err and "boom-123" in err and "f()" in err
    assert sorted(p.name for p in out.iterdir()) == ["previous.txt"]
    assert (out / "previous.txt").read_text() == "old output"
    assert not list(tmp_path.glob(".out.*"))


def test_failing_inline_expression_is_reported(tmp_path, capsys):
    project = _small_book(tmp_path / "p", "# A\n\nValue `{python} 1 / 0`.\n")
    code = main(["render", "--project", str(project), "--no-results", "--out",
                 str(tmp_path / "out"), "--engine", "builtin"])
    err = capsys.readouterr().err
    assert code == 1 and "inline `{python} 1 / 0`" in err and "ZeroDivisionError" in err
    assert not (tmp_path / "out").exists()


def test_publish_replaces_the_previous_output_whole(tmp_path):
    final = tmp_path / "final"
    final.mkdir()
    (final / "old.txt").write_text("old")
    staged = tmp_path / "staged"
    staged.mkdir()
    (staged / "new.txt").write_text("new")
    publish(staged, final)
    assert [p.name for p in final.iterdir()] == ["new.txt"]
    # final is now a symlink to the one version kept (publishing.output; tests/test_output.py)
    assert final.is_symlink() and [p.name for p in (tmp_path / ".final.versions").iterdir()] \
        == [final.resolve().name]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".final.versions", "final"]


# --- notice ----------------------------------------------------------------------------------


def test_marks_follow_dataset_yaml_and_blinding(tmp_path, monkeypatch):
    monkeypatch.delenv("REPORT_BLINDED", raising=False)
    assert notice.marks(tmp_path) == []
    (tmp_path / "dataset.yaml").write_text("synthetic: false\n")
    assert notice.marks(tmp_path) == []
    (tmp_path / "dataset.yaml").write_text("synthetic: true\n")
    assert notice.marks(tmp_path) == [notice.SYNTHETIC]
    monkeypatch.setenv("REPORT_BLINDED", "1")
    assert notice.marks(tmp_path) == [notice.SYNTHETIC, notice.BLINDED]


def test_notice_assets(tmp_path):
    texts = [notice.SYNTHETIC, notice.BLINDED]
    assert "position:fixed" in notice.html_fragment(texts)
    assert notice.html_fragment([]) == "" and notice.typst_header([]) == ""
    assert notice.typst_header(texts).startswith("#set page(foreground:")
    assert "BLINDED" in notice.typst_header(texts)
    ref = notice.reference_docx(texts, tmp_path / "ref.docx")
    d = docx.Document(str(ref))
    assert d.sections[0].header.paragraphs[0].text == f"{notice.SYNTHETIC} \u00b7 BLINDED"
    assert "Callout" in [s.name for s in d.styles]
    assert d.styles["Compact"].font.size.pt == notice.TABLE_FONT_PT


# --- provenance ------------------------------------------------------------------------------


def test_data_checksums_match_hashlib(tmp_path):
    (tmp_path / "adsl.csv").write_bytes(b"a,b\n1,2\n")
    (tmp_path / "notes.txt").write_text("ignored")
    df = provenance.data_files(tmp_path)
    assert list(df["File"]) == ["adsl.csv"] and list(df["Bytes"]) == [8]
    assert df["SHA-256"][0] == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    line = f"adsl.csv  {hashlib.sha256(b'a,b' + bytes([10]) + b'1,2' + bytes([10])).hexdigest()}\n"
    assert provenance.folder_digest(tmp_path) == hashlib.sha256(line.encode()).hexdigest()
    grouped = provenance.checksum_table(tmp_path)["SHA-256"][0]
    assert grouped.replace("`", "").replace(" ", "") == df["SHA-256"][0]


def test_locked_versions_and_mismatch(tmp_path, monkeypatch):
    lock = tmp_path / "requirements.lock"
    lock.write_text("# pins\nPyYAML==0.0.1\npandas==1.0 ; python_version>'3'\n")
    assert provenance.locked_versions(lock) == {"PyYAML": "0.0.1", "pandas": "1.0"}
    monkeypatch.setattr(provenance, "locked_versions", lambda: {"PyYAML": "0.0.1"})
    df = provenance.package_versions(["pyyaml", "surely-not-installed-pkg"])
    assert list(df["Locked"]) == ["0.0.1", "not locked"]
    assert df["Installed"][1] == "not installed"
    monkeypatch.setattr(provenance, "package_versions", lambda: df)
    assert provenance.lock_sentence() == ("**These packages differ from `requirements.lock`: "
                                          "pyyaml, surely\\-not\\-installed\\-pkg.**")


def test_describe_dataset(tmp_path):
    (tmp_path / "dataset.yaml").write_text("name: Demo\nsynthetic: true\ngenerator: g\nseed: 7\n")
    s = provenance.describe_dataset(tmp_path)
    assert "*Demo*" in s and "**synthetic data**" in s and "`g` with seed 7" in s
    assert provenance.display_path(tmp_path) == tmp_path.name


def test_engine_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("REPORT_ENGINE", "builtin (pandoc 9)")
    assert provenance.engine() == "builtin (pandoc 9)"
    assert provenance.python_version().startswith(sys.version.split()[0])


def test_fixture_csl_is_the_project_csl():
    root = FIXTURE.parents[2]
    assert (FIXTURE / "vancouver.csl").read_bytes() == (root / "vancouver.csl").read_bytes()


def test_no_staging_left_in_tmp_after_fixture_render(rendered):
    out, _ = rendered
    # only the versions folder, holding the one version that `out` points at
    assert [p.name for p in out.parent.glob(f".{out.name}.*")] == [f".{out.name}.versions"]
    assert list(out.parent.glob(f".{out.name}.versions/*")) == [out.resolve()]


def test_serial_and_parallel_kernels_give_byte_identical_outputs(rendered, tmp_path,
                                                                monkeypatch):
    out, _ = rendered  # chapters in parallel (up to the core count)
    monkeypatch.setenv("REPORT_WORKERS", "1")
    lines: list[str] = []
    render(FIXTURE, FIXTURE / "data", "builtin", tmp_path / "serial", results=False,
           progress=lines.append)
    assert "  executing 4 chapter(s), 1 kernel(s) at a time" in lines
    done = [ln.split("] ")[1].split(" (")[0] for ln in lines if ln.startswith("  [")]
    assert done == ["index.qmd", "chapters/one.qmd", "chapters/two.qmd", "chapters/app.qmd"]

    def digests(folder):
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}

    assert digests(tmp_path / "serial") == digests(out)
