"""Real Quarto: the book and the supplement rendered by Quarto, and parity with the built-in
engine on the same data.

One Quarto render and one built-in render of the full book are shared by every test here
(session fixtures). Skipped, with the reason shown in the test summary, when no Quarto in
:data:`publishing.quarto.SUPPORTED` is on PATH; ``.ci/run`` puts the offline build from
``../shared/quarto/install.sh`` on PATH.

Where Quarto lays the book out differently, the test asserts the documented difference: the
Quarto HTML is a multi-page site (``index.html``, one page per chapter, ``site_libs/``), the
built-in HTML one self-contained file; both PDF and DOCX are single files.
"""

from __future__ import annotations

import html as htmllib
import os
import re
from pathlib import Path

import docx
import pypdf
import pytest

from publishing import book as bookmod
from publishing import notice, quarto
from publishing import trial as trialmod
from publishing.render import render

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic"
#: the output name comes from the default trial's specification (``_quarto.yml`` is a template)
NAME = trialmod.book_metadata(trialmod.load(trialmod.project_default(ROOT)))["output-file"]
OPTIONAL = Path(__file__).parent / "fixtures" / "book_optional"
THREE = Path(__file__).parent / "fixtures" / "three_arm" / "trial.yaml"


def _skip_reason() -> str:
    hit = quarto.found()
    if hit is None:
        return (f"real Quarto tests need Quarto {quarto.SUPPORTED} on PATH (none found; "
                "CI puts ../shared/quarto/install.sh's folder on PATH)")
    return "real Quarto tests: " + quarto.too_old(*hit)


pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(quarto.usable() is None, reason=_skip_reason())]


def _quiet(*_args) -> None:
    pass


SNAPSHOT_IGNORE = (".git", ".venv", "_output", "_build", ".quarto", "__pycache__",
                   ".pytest_cache", ".ruff_cache", ".cache", "tests", "*.pyc")


@pytest.fixture(scope="session")
def snapshot(tmp_path_factory):
    """One copy of the project (code, chapters, data) that both engines render, so the
    parity checks compare engines, not two states of a working tree being edited."""
    import shutil

    dest = tmp_path_factory.mktemp("snapshot") / "project"
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(*SNAPSHOT_IGNORE), symlinks=True)
    return dest


def _render(project: Path, engine: str, out: Path) -> Path:
    """Render ``project`` with its own ``analysis`` package first on the kernels' path."""
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project), saved]))
    try:
        render(project, project / DATA.relative_to(ROOT), engine, out, results=True,
               progress=_quiet)
    finally:
        os.environ.pop("PYTHONPATH") if saved is None else os.environ.update(PYTHONPATH=saved)
    return out


@pytest.fixture(scope="session")
def quarto_book(snapshot, tmp_path_factory):
    return _render(snapshot, "quarto", tmp_path_factory.mktemp("quarto-book") / "out")


@pytest.fixture(scope="session")
def builtin_book(snapshot, tmp_path_factory):
    return _render(snapshot, "builtin", tmp_path_factory.mktemp("builtin-book") / "out")


# ------------------------------------------------------------------ reading the outputs


def _html_text(raw: str) -> str:
    raw = re.sub(r"<(script|style)\b.*?</\1>", "", raw, flags=re.DOTALL)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", raw))


def _docx_paragraphs(path: Path) -> list:
    return docx.Document(str(path)).paragraphs


def _docx_text(path: Path) -> str:
    d = docx.Document(str(path))
    cells = [c.text for t in d.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in d.paragraphs] + cells)


def _pdf_pages(path: Path) -> list[str]:
    return [p.extract_text() for p in pypdf.PdfReader(path).pages]


def _docx_blocks(path: Path) -> list[tuple[str, str]]:
    """``(style, text)`` of the body's paragraphs and tables, in document order (Quarto puts
    a callout in a table)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    d = docx.Document(str(path))
    out = []
    for el in d.element.body.iterchildren():
        if el.tag.endswith("}p"):
            para = Paragraph(el, d)
            out.append((para.style.name, para.text))
        elif el.tag.endswith("}tbl"):
            table = Table(el, d)
            out.append(("table", " ".join(c.text for r in table.rows for c in r.cells)))
    return out


def _docx_chapter(path: Path, heading: str) -> str:
    """The text of the chapter whose level-1 heading is ``heading``, up to the next one."""
    out, inside = [], False
    for style, text in _docx_blocks(path):
        if style == "Heading 1":
            if inside:
                break
            inside = text.strip() == heading
        elif inside:
            out.append(text)
    return "\n".join(out)


NUMBER = re.compile(r"\u2212?\d+(?:\.\d+)?")  # with a minus sign (U+2212) if negative
XREF = re.compile(r"\b(Figure|Table|Chapter|Section|Appendix)[\s\u00a0]+([A-Z]|\d+)((?:\.\d+)*)")


def _numbers(text: str) -> list[str]:
    return NUMBER.findall(text)


def _xrefs(text: str) -> set[str]:
    return {f"{m.group(1)} {m.group(2)}{m.group(3)}" for m in XREF.finditer(text)}


def _abstract_html_builtin(out: Path) -> str:
    raw = (out / f"{NAME}.html").read_text(encoding="utf-8")
    start = raw.index('<section id="abstract"')
    end = raw.index('<section id="sec-introduction"', start)
    return _html_text(raw[start:end])


def _abstract_html_quarto(out: Path) -> str:
    raw = (out / "index.html").read_text(encoding="utf-8")
    main = re.search(r'<main\b.*?</main>', raw, flags=re.DOTALL).group(0)
    return _html_text(main)


# ------------------------------------------------------------------ Quarto renders the book


def test_quarto_renders_html_site_pdf_and_docx(quarto_book):
    # documented difference: Quarto's HTML is a site, one page per chapter
    book = bookmod.load(ROOT)
    pages = {p.relative_to(quarto_book).as_posix() for p in quarto_book.rglob("*.html")
             if "site_libs" not in p.parts}
    chapters = {e.path.relative_to(ROOT).with_suffix(".html").as_posix()
                for e in book.chapters}
    assert pages == chapters  # index.qmd -> index.html, chapters/x.qmd -> chapters/x.html
    assert (quarto_book / "site_libs").is_dir()
    assert (quarto_book / f"{NAME}.pdf").stat().st_size > 50_000
    assert (quarto_book / f"{NAME}.docx").stat().st_size > 20_000


def test_docx_figures_are_png_in_both_engines(quarto_book, builtin_book):
    import zipfile

    for out in (quarto_book, builtin_book):
        media = [n for n in zipfile.ZipFile(out / f"{NAME}.docx").namelist()
                 if n.startswith("word/media/")]
        assert len(media) >= 5 and all(n.endswith(".png") for n in media), (out, media)


def test_quarto_html_fetches_nothing_and_its_local_files_exist(quarto_book):
    assert quarto.make_offline(quarto_book) == []  # no http(s) script, css, font or image
    missing = []
    for page in quarto_book.rglob("*.html"):
        if "site_libs" in page.parts:
            continue
        raw = page.read_text(encoding="utf-8")
        refs = re.findall(r'<(?:script|img)\b[^>]*?\ssrc="([^"#?]+)"', raw)
        refs += re.findall(r'<link\b[^>]*?\shref="([^"#?]+)"', raw)
        for ref in refs:
            if not ref.startswith("data:") and not (page.parent / ref).exists():
                missing.append(f"{page.name}: {ref}")
    assert missing == []
    text = " ".join(_html_text(p.read_text(encoding="utf-8")) for p in quarto_book.rglob("*.html")
                    if "site_libs" not in p.parts)
    assert "?@" not in text and "{python}" not in text


def test_page_marks_in_every_format_of_both_engines(quarto_book, builtin_book):
    mark = notice.SYNTHETIC
    q_pages = [p for p in quarto_book.rglob("*.html") if "site_libs" not in p.parts]
    assert q_pages and all(mark in p.read_text(encoding="utf-8") for p in q_pages)
    assert mark in (builtin_book / f"{NAME}.html").read_text(encoding="utf-8")
    for out in (quarto_book, builtin_book):
        pages = _pdf_pages(out / f"{NAME}.pdf")
        assert len(pages) > 5 and all(mark in p for p in pages), out
        sections = docx.Document(str(out / f"{NAME}.docx")).sections
        assert all(mark in s.header.paragraphs[0].text for s in sections), out


# ------------------------------------------------------------------ parity with the built-in


def test_identical_results_store(quarto_book, builtin_book):
    for name in ("results.csv", "results.json"):
        assert (quarto_book / name).read_bytes() == (builtin_book / name).read_bytes(), name


def test_identical_table_csvs(quarto_book, builtin_book):
    q = sorted(p.name for p in (quarto_book / "tables").glob("*.csv"))
    b = sorted(p.name for p in (builtin_book / "tables").glob("*.csv"))
    assert q == b and len(q) >= 5
    for name in q:
        assert ((quarto_book / "tables" / name).read_bytes()
                == (builtin_book / "tables" / name).read_bytes()), name


def test_every_inline_number_of_the_abstract_is_identical(quarto_book, builtin_book):
    q_docx = _docx_chapter(quarto_book / f"{NAME}.docx", "Abstract")
    b_docx = _docx_chapter(builtin_book / f"{NAME}.docx", "Abstract")
    assert len(_numbers(b_docx)) > 20  # the abstract is full of store values
    assert _numbers(q_docx) == _numbers(b_docx)
    # the HTML: Quarto's index page (documented difference) against the built-in's section
    q_html = _abstract_html_quarto(quarto_book)
    b_html = _abstract_html_builtin(builtin_book)
    assert _numbers(b_html) == _numbers(b_docx)
    assert _numbers(q_html) == _numbers(b_docx)


def test_same_cross_reference_numbers(quarto_book, builtin_book):
    q = _xrefs(_docx_text(quarto_book / f"{NAME}.docx"))
    b = _xrefs(_docx_text(builtin_book / f"{NAME}.docx"))
    assert {"Table 4.1", "Figure 3.1"} <= b
    assert q == b
    q_pdf = _xrefs(" ".join(_pdf_pages(quarto_book / f"{NAME}.pdf")))
    b_pdf = _xrefs(" ".join(_pdf_pages(builtin_book / f"{NAME}.pdf")))
    assert b_pdf <= q_pdf
    # documented difference: Quarto's Typst book template labels each numbered chapter's
    # heading "Chapter N"; every other number is the same
    numbered = len([e for e in bookmod.load(ROOT).chapters if e.kind == "chapter"]) - 1
    assert q_pdf - b_pdf <= {f"Chapter {n}" for n in range(1, numbered + 1)}


# ------------------------------------------------------------------ the supplement


@pytest.fixture(scope="session")
def quarto_supplement(snapshot, tmp_path_factory):
    from publishing import supplement

    out = tmp_path_factory.mktemp("quarto-supplement") / "out"
    keys = ("REPORT_BLINDED", "BLIND_KEY", "BLIND_KEY_FILE")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({"REPORT_BLINDED": "1", "BLIND_KEY": "quarto-test-key"})
    os.environ.pop("BLIND_KEY_FILE", None)
    try:
        supplement.build(snapshot, snapshot / DATA.relative_to(ROOT), "quarto", out,
                         progress=_quiet)
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    return out / "supplement"


def test_quarto_renders_the_blinded_supplement_with_both_marks(quarto_supplement):
    pages = _pdf_pages(quarto_supplement / "online-supplement.pdf")
    assert len(pages) > 2
    assert all(notice.SYNTHETIC in p and notice.BLINDED in p for p in pages)
    sections = docx.Document(str(quarto_supplement / "online-supplement.docx")).sections
    for s in sections:
        head = s.header.paragraphs[0].text
        assert notice.SYNTHETIC in head and notice.BLINDED in head
    text = " ".join(pages)
    assert "?@" not in text and "{python}" not in text


# ------------------------------------------------------------------ optional parts


@pytest.fixture(scope="session")
def optional_books(tmp_path_factory):
    """The optional-parts fixture book for the three-arm trial, rendered by both engines."""
    import shutil

    outs = {}
    for engine in ("quarto", "builtin"):
        tmp = tmp_path_factory.mktemp(f"optional-{engine}")
        shutil.copytree(OPTIONAL, tmp / "book")
        render(tmp / "book", THREE.parent / "data", engine, tmp / "out", results=False,
               progress=_quiet, trial=THREE)
        outs[engine] = tmp / "out"
    return outs


def test_optional_parts_are_the_same_under_both_engines(optional_books):
    q, b = optional_books["quarto"], optional_books["builtin"]
    pages = {p.relative_to(q).as_posix() for p in q.rglob("*.html") if "site_libs" not in p.parts}
    assert pages == {"index.html", "chapters/results.html", "chapters/app.html"}  # no harms
    for out in (q, b):
        text = re.sub(r"\s+", " ", _docx_text(out / "trio-report.docx")).replace("\u00a0", " ")
        assert "A three-arm test trial" in text and "THREE-ARM-TEXT" in text
        assert "KEPT-CALLOUT-TEXT" in text
        for gone in ("ADVERSE-EVENT-TEXT", "NESTED-DROPPED-TEXT", "TWO-ARM-TEXT",
                     "HARMS-CHAPTER-TEXT"):
            assert gone not in text
        for caption in ("Table 1.1: A fixed table", "Table 1.2: Three arms",
                        "Table 1.3: Loop table for score", "Table 1.4: Loop table for qol"):
            assert caption in text, (out, caption)
        assert "The loop made Table 1.3 and Table 1.4." in text
    floats = [{x for x in _xrefs(_docx_text(out / "trio-report.docx"))
               if x.startswith(("Table", "Figure"))} for out in (q, b)]
    assert floats[0] == floats[1] == {"Table 1.1", "Table 1.2", "Table 1.3", "Table 1.4"}


def test_quarto_fails_on_a_reference_it_cannot_resolve(tmp_path):
    """A reference to a label no chapter makes (not one an optional part took: those fail
    before rendering, under both engines) is caught in Quarto's HTML (``?@label``)."""
    from publishing.trial import TrialError

    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "_quarto.yml").write_text(
        "project: {type: book, output-dir: _output}\nbook:\n  title: T\n  chapters:\n"
        "    - index.qmd\nformat:\n  html: {}\n")
    (tmp_path / "book" / "index.qmd").write_text("# Only {.unnumbered}\n\nSee @fig-nowhere.\n")
    with pytest.raises(TrialError, match=r"index.qmd: @fig-nowhere \(no such label\)"):
        render(tmp_path / "book", THREE.parent / "data", "quarto", tmp_path / "out",
               results=False, progress=_quiet, trial=THREE)
    assert not (tmp_path / "out").exists()
