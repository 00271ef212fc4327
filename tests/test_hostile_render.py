"""Data are text, never markup: a render of hostile data (tests/hostile.py) shows every payload
literally in HTML, PDF, DOCX, XLSX and CSV, and none of them acts.

One built-in render (session fixture) into a temporary folder; every file is read back with an
independent reader (html.parser, pypdf, python-docx, openpyxl, csv).
"""

from __future__ import annotations

import csv
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from analysis.export import neutralise
from tests import hostile

PROJECT = Path(__file__).resolve().parents[1]
SOC_ROWS = [(hostile.SOC + p).strip() for p in hostile.PAYLOADS]  # "SOC \tTab first" keeps its tab


# ------------------------------------------------------------------ the render


@pytest.fixture(scope="session")
def hostile_data(tmp_path_factory) -> Path:
    return hostile.make(tmp_path_factory.mktemp("hostile") / "data")


@pytest.fixture(scope="session")
def rendered(hostile_data, tmp_path_factory) -> Path:
    from publishing.render import render

    out = tmp_path_factory.mktemp("hostile-render") / "out"
    mp = pytest.MonkeyPatch()
    mp.setenv("REPORT_BLINDED", "0")
    try:
        render(PROJECT, hostile_data, "builtin", out, progress=lambda *a: None)
    finally:
        mp.undo()
    return out.resolve()


def _one(out: Path, pattern: str) -> Path:
    files = sorted(out.glob(pattern))
    assert len(files) == 1, (pattern, files)
    return files[0]


# ------------------------------------------------------------------ validation


def test_validation_accepts_the_hostile_free_text(hostile_data):
    from analysis.validation import validate_folder

    assert validate_folder(hostile_data) == []


def test_a_hostile_country_is_refused_as_not_an_allowed_value(hostile_data, tmp_path):
    # COUNTRY is a controlled vocabulary in the data contract (rightly: it is a model factor)
    import shutil

    from analysis.validation import validate_folder

    folder = tmp_path / "d"
    shutil.copytree(hostile_data, folder)
    adsl = hostile._read(folder, "adsl")
    adsl.loc[0, "COUNTRY"] = "<script>alert(1)</script>"
    hostile._write(folder, "adsl", adsl)
    problems = [str(p) for p in validate_folder(folder)]
    assert any("COUNTRY" in p and "adsl" in p for p in problems), problems


# ------------------------------------------------------------------ HTML


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class _Html(HTMLParser):
    """Text nodes (entities resolved), elements with their attributes, script bodies."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.elements, self.scripts, self._in = [], [], [], []
        self.math, self._math_depth, self._depth = [], None, 0

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag not in VOID:
            self._depth += 1
        if tag == "math" or "math" in (dict(attrs).get("class") or "").split():
            if self._math_depth is None:
                self._math_depth = self._depth
                self.math.append("")
        if tag in ("script", "style"):
            self._in.append(tag)
            if tag == "script":
                self.scripts.append([dict(attrs), ""])

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if self._in and self._in[-1] == tag:
            self._in.pop()
        if tag not in VOID:
            if self._math_depth == self._depth:
                self._math_depth = None
            self._depth -= 1

    def handle_data(self, data):
        if self._in and self._in[-1] == "script":
            self.scripts[-1][1] += data
        elif not self._in:
            self.text.append(data)
            if self._math_depth is not None:
                self.math[-1] += data


def _squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="session")
def html(rendered) -> _Html:
    parser = _Html()
    parser.feed(_one(rendered, "*.html").read_text(encoding="utf-8"))
    return parser


def test_html_shows_every_payload_as_text(html):
    text = _squash("".join(html.text))
    for shown in [*hostile.SHOWN.values(), *SOC_ROWS, hostile.NAME, hostile.GENERATOR]:
        assert _squash(shown) in text, shown


def test_html_runs_no_script_and_no_handler_from_the_data(html):
    assert html.scripts == []  # the built-in engine's HTML has no script of its own either
    for attrs, body in html.scripts:
        assert "alert" not in body and "alert" not in attrs.get("src", "")
    for tag, attrs in html.elements:
        assert "onerror" not in attrs, (tag, attrs)
        assert not any(k.startswith("on") and "alert" in (v or "") for k, v in attrs.items())
        assert not (tag == "img" and attrs.get("src") == "x")


def test_html_has_no_link_math_citation_or_emphasis_made_from_the_data(html):
    for tag, attrs in html.elements:
        for key in ("href", "src", "action", "formaction"):
            assert "evil.example" not in (attrs.get(key) or ""), (tag, attrs)
        assert not (tag == "a" and attrs.get("href", "").startswith("#ref-key"))
    # the only math is the authored kind (chi-square in two reference titles), none with the
    # payload's x
    assert all("x" not in m for m in html.math), html.math
    raw = "".join(html.text)
    assert "?@" not in raw and "(?)" not in raw  # no unresolved reference made from the data


def test_html_emphasis_from_the_data_stays_literal(rendered):
    raw = _one(rendered, "*.html").read_text(encoding="utf-8")
    assert "<strong>x</strong>" not in raw and "<em>x</em>" not in raw
    assert "<strong>SOC **x**</strong>" in raw  # the authored bold of a SOC row, around text


# ------------------------------------------------------------------ PDF


def _pdf_norm(text: str) -> str:
    """Compare without blanks (cells wrap) and with Typst's typographic minus as a hyphen."""
    return "".join(text.replace("\u2212", "-").split())


@pytest.fixture(scope="session")
def pdf(rendered):
    import pypdf

    return pypdf.PdfReader(_one(rendered, "*.pdf"))


def test_pdf_text_shows_every_payload(pdf):
    text = _pdf_norm("".join(page.extract_text() for page in pdf.pages))
    for shown in [*hostile.SHOWN.values(), *SOC_ROWS, hostile.NAME, hostile.GENERATOR]:
        assert _pdf_norm(shown) in text, shown


def test_the_typst_payload_changes_no_page_size(pdf):
    sizes = {(round(float(p.mediabox.width)), round(float(p.mediabox.height)))
             for p in pdf.pages}
    assert sizes == {(595, 842)}  # A4 on every page


# ------------------------------------------------------------------ DOCX


@pytest.fixture(scope="session")
def docx_doc(rendered):
    import docx

    return docx.Document(str(_one(rendered, "*.docx")))


def _docx_text(doc) -> str:
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts += [c.text for c in row.cells]
    return "\n".join(parts)


def test_docx_text_shows_every_payload(docx_doc):
    text = _squash(_docx_text(docx_doc))
    for shown in [*hostile.SHOWN.values(), *SOC_ROWS, hostile.NAME, hostile.GENERATOR]:
        assert _squash(shown) in text, shown


def test_docx_has_no_link_or_math_from_the_data(docx_doc):
    targets = [r.target_ref for r in docx_doc.part.rels.values() if r.is_external]
    assert not [t for t in targets if "evil.example" in t]
    from docx.oxml.ns import qn

    maths = docx_doc.element.body.iter(qn("m:oMath"))
    texts = ["".join(t.text or "" for t in m.iter(qn("m:t"))) for m in maths]
    assert all("x" not in t for t in texts), texts  # only the references' chi-square


# ------------------------------------------------------------------ figures


def test_consort_diagram_draws_the_reasons_as_text_not_mathtext(hostile_data):
    import html as htmllib
    import io

    import matplotlib
    import matplotlib.pyplot as plt

    from analysis.data import load_trial
    from analysis.families.consort import consort_rows
    from analysis.families.participants import consort_figure
    from analysis.results import ResultsStore

    trial = load_trial(hostile_data)
    fig = consort_figure(trial, ResultsStore.empty().add(consort_rows(trial)))
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # keep text as text in the SVG
        fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = htmllib.unescape(buf.getvalue())
    for reason in hostile.REASONS:
        assert reason in svg, reason


# ------------------------------------------------------------------ XLSX and CSV


def test_xlsx_cells_are_neutralised_text_never_formulas(rendered):
    import openpyxl

    tables = rendered / "tables"
    for path in sorted(tables.glob("*.xlsx")):
        for row in openpyxl.load_workbook(path).active.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (path.name, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not re.match(r"[=+\-@\t\r]", cell.value), (path.name, cell.value)
    ws = openpyxl.load_workbook(tables / "sae_listing.xlsx").active
    header = [c.value for c in ws[1]]
    terms = [r[header.index("Preferred term")] for r in ws.iter_rows(min_row=2, values_only=True)]
    for shown in hostile.SHOWN.values():
        assert neutralise(shown) in terms, shown
    ws = openpyxl.load_workbook(tables / "ae_by_term.xlsx").active
    labels = [r[0] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert set(SOC_ROWS) <= set(labels)
    assert {"  " + s for s in hostile.SHOWN.values()} <= set(labels)  # indented: not formulas
    ws = openpyxl.load_workbook(tables / "consort_counts.xlsx").active
    header = [c.value for c in ws[1]]
    reasons = {r[header.index("reason")] for r in ws.iter_rows(min_row=2, values_only=True)}
    untreated = hostile._read(hostile.SOURCE, "adsl")["NTRTREAS"].ne("").sum()
    assert untreated >= 2 and set(hostile.REASONS[:untreated]) <= reasons


def test_csv_cells_are_neutralised(rendered):
    with open(rendered / "tables" / "sae_listing.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    terms = {r["Preferred term"] for r in rows}
    for shown in hostile.SHOWN.values():
        assert neutralise(shown) in terms, shown
    for path in sorted((rendered / "tables").glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.reader(f):
                for cell in row:
                    assert not re.match(r"[=+@\t\r]", cell), (path.name, cell)
                    assert not re.match(r"-(?![\d.]+$)", cell), (path.name, cell)


# ------------------------------------------------------------------ page marks (no render)

MARK = 'Trial <script>alert(1)</script> "q" \\ #set page(width: 1cm) `#x`{=typst} a\nb'


def test_html_banner_holds_the_mark_as_text():
    from publishing import notice

    parser = _Html()
    parser.feed(notice.html_fragment([MARK]))
    assert not parser.scripts
    assert _squash("".join(parser.text)).endswith(_squash(MARK))


def test_typst_page_mark_is_a_string_not_code(tmp_path):
    import pypdf
    import typst

    from publishing import notice

    src = notice.typst_header([MARK]) + "\nBody.\n"
    (tmp_path / "m.pdf").write_bytes(typst.compile(src.encode()))
    page = pypdf.PdfReader(tmp_path / "m.pdf").pages[0]
    assert round(float(page.mediabox.width)) == 595  # A4: the #set in the mark did not run
    assert _squash(MARK) in _squash(page.extract_text())


def test_docx_page_header_holds_the_mark_as_text(tmp_path):
    import docx

    from publishing import notice

    path = notice.reference_docx([MARK + "\x00"], tmp_path / "ref.docx")
    header = docx.Document(str(path)).sections[0].header.paragraphs[0].text
    assert _squash(header) == _squash(MARK + "\ufffd")
