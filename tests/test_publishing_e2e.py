"""End to end: the real book rendered by the built-in engine into a temporary folder."""

from __future__ import annotations

import hashlib
import html as htmllib
import re
from pathlib import Path

import docx
import pypdf
import pytest

from publishing import notice
from publishing.render import render

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic"


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    files = render(ROOT, DATA, "builtin", out, results=True, progress=lambda *a: None)
    return out, files


@pytest.mark.slow
def test_real_book_renders_to_html_pdf_docx(book):
    out, files = book
    names = {f.name for f in files}
    assert {"respine-report.html", "respine-report.pdf", "respine-report.docx"} <= names
    assert (out / "results.csv").exists()  # the statistics pre-step ran into the same output


@pytest.mark.slow
def test_real_book_html_is_resolved_and_self_contained(book):
    out, _ = book
    raw = (out / "respine-report.html").read_text(encoding="utf-8")
    text = htmllib.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<style.*?</style>", "", raw,
                                                          flags=re.DOTALL)))
    assert "?@" not in text and "{python}" not in text
    assert notice.SYNTHETIC in text
    assert not re.search(r'src="https?://|<link[^>]+href="https?://', raw)  # no fetched resource
    # the reproducibility appendix shows the folder checksum, recomputed here independently
    lines = "".join(f"{p.name}  {hashlib.sha256(p.read_bytes()).hexdigest()}\n"
                    for p in sorted(DATA.iterdir())
                    if p.suffix in {".csv", ".parquet", ".xpt", ".sas7bdat", ".yaml"})
    assert hashlib.sha256(lines.encode()).hexdigest() in text


@pytest.mark.slow
def test_real_book_pdf_has_text_and_the_notice_on_every_page(book):
    out, _ = book
    pages = [p.extract_text() for p in pypdf.PdfReader(out / "respine-report.pdf").pages]
    assert len(pages) > 5
    assert all(notice.SYNTHETIC in p for p in pages)
    text = " ".join(pages)
    assert "?@" not in text and "{python}" not in text


@pytest.mark.slow
def test_real_book_docx_opens_with_tables_and_header_notice(book):
    out, _ = book
    d = docx.Document(str(out / "respine-report.docx"))
    assert len(d.tables) >= 2
    assert all(notice.SYNTHETIC in s.header.paragraphs[0].text for s in d.sections)
    text = "\n".join(p.text for p in d.paragraphs)
    assert "?@" not in text and "{python}" not in text
