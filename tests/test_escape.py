"""The escaping layer: data strings are literal text for pandoc, HTML, Typst and DOCX.

The Markdown checks are independent of the code under test: pandoc itself parses the escaped
text, and the test requires nothing but text nodes (Str, Space) spelling the original string.
"""

import json
import string

import pypandoc
import pytest

from analysis.escape import (
    Markdown,
    code_span,
    docx_text,
    escape_html,
    escape_markdown,
    install_ipython_text,
    plain_text,
    to_markdown,
    typst_string,
)
from tests.hostile import PAYLOADS

EXTRA = [string.punctuation, "1. item", "- item", "# heading", "> quote", "a  b", "x\\", "\\",
         "![i](x.png)", "<http://evil.example>", "{{< include x.qmd >}}", "::: {.callout}",
         "a\nb\r\nc", "a\x00b\x1bc", "Crohn's disease", "5 < 6 > 4 & 3", "-- --- ...", "[^1]"]


def _inline_text(nodes) -> tuple[str, set]:
    """Concatenated text of pandoc inline nodes and the set of node types met."""
    text, kinds = [], set()
    for n in nodes:
        kinds.add(n["t"])
        if n["t"] == "Str":
            text.append(n["c"])
        elif n["t"] in ("Space", "SoftBreak"):
            text.append(" ")
        elif n["t"] == "Quoted":  # smart quotes of an apostrophe pair (typography only)
            inner, k = _inline_text(n["c"][1])
            text.append("'" + inner + "'")
            kinds |= k
        else:
            text.append(f"<{n['t']}>")
    return "".join(text), kinds


def _pandoc_paragraphs(markdown: str) -> list[tuple[str, set]]:
    ast = json.loads(pypandoc.convert_text(markdown, "json", format="markdown"))
    return [_inline_text(b["c"]) for b in ast["blocks"]]


def _literal(s: str) -> str:
    """What a reader should see: breaks as spaces, runs of spaces as one, no edge spaces."""
    return " ".join(plain_text(s).replace("\ufffd", "\ufffd").split())


def test_every_payload_is_one_paragraph_of_plain_text_for_pandoc():
    payloads = PAYLOADS + EXTRA
    paragraphs = _pandoc_paragraphs("\n\n".join(f"P: {escape_markdown(p)} :E" for p in payloads))
    assert len(paragraphs) == len(payloads)
    for p, (text, kinds) in zip(payloads, paragraphs, strict=True):
        assert kinds <= {"Str", "Space", "SoftBreak", "Quoted"}, (p, kinds)
        want = _literal(p).replace("'", "\u2019")  # pandoc's smart apostrophe
        got = text.replace("'", "\u2019")
        assert got == f"P: {want} :E".replace("P:  :E", "P: :E"), p


def test_payloads_in_pipe_table_cells_stay_in_their_cell():
    payloads = PAYLOADS + EXTRA
    rows = "\n".join(f"| {escape_markdown(p)} | x |" for p in payloads)
    ast = json.loads(pypandoc.convert_text(f"| a | b |\n|---|---|\n{rows}\n", "json",
                                           format="markdown"))
    table = ast["blocks"][0]
    assert table["t"] == "Table"
    body = table["c"][4][0][3]  # first table body, its rows
    assert len(body) == len(payloads)
    for p, row in zip(payloads, body, strict=True):
        cells = row[1]
        assert len(cells) == 2, p
        blocks = cells[0][4]
        text, kinds = _inline_text(blocks[0]["c"]) if blocks else ("", set())
        assert kinds <= {"Str", "Space", "Quoted"}, (p, kinds)
        assert text.replace("'", "\u2019") == _literal(p).replace("'", "\u2019"), p
        assert _inline_text(cells[1][4][0]["c"])[0] == "x"


def test_markdown_combines_with_text_by_escaping_the_text():
    md = Markdown("**{}** ({n})").format("*x*", n=3)
    assert md == "**\\*x\\*** (3)" and isinstance(md, Markdown)
    assert Markdown("a ") + "_b_" == "a \\_b\\_"
    assert "_b_" + Markdown(" a") == "\\_b\\_ a"
    assert isinstance("_b_" + Markdown(" a"), Markdown)
    assert Markdown("; ").join(["$1", Markdown("*em*")]) == "\\$1; *em*"
    assert Markdown("{}").format(Markdown("*em*")) == "*em*"
    assert Markdown("{:>4}").format(7) == "   7"
    with pytest.raises(TypeError, match="format"):
        Markdown("%s") % "x"
    # anything that is not Markdown any more is text again, escaped (safe, and visible)
    assert to_markdown(Markdown("*a*").upper()) == "\\*A\\*"
    assert to_markdown(None) == "" and to_markdown(float("nan")) == ""
    assert to_markdown(-2.5) == "\\-2\\.5"


def test_code_span_fence_is_longer_than_any_backtick_run():
    assert code_span("a/b") == "`a/b`"
    assert code_span("a``b") == "``` a``b ```"
    text, kinds = _pandoc_paragraphs(code_span("x `` `{=typst}"))[0]
    assert kinds == {"Code"}


def test_html_typst_and_docx_texts():
    assert escape_html('<script>"x" & \'y\'</script>') == (
        "&lt;script&gt;&quot;x&quot; &amp; &#x27;y&#x27;&lt;/script&gt;")
    assert typst_string('a\\b "c"\n#set page(width: 1cm)') == (
        '"a\\\\b \\"c\\" #set page(width: 1cm)"')
    assert docx_text("a\x00b\tc\x0bd") == "a\ufffdb c d"


def test_typst_string_is_a_literal_for_the_typst_compiler(tmp_path):
    import pypdf
    import typst

    texts = ['#set page(width: 1cm)', 'a\\b\\\\c', '"); #text(fill: red)[X] //', "}])"]
    src = "".join(f"#text({typst_string(t)})\n\n" for t in texts)
    pdf = tmp_path / "t.pdf"
    pdf.write_bytes(typst.compile(src.encode()))
    page = pypdf.PdfReader(pdf).pages[0]
    assert float(page.mediabox.width) == pytest.approx(595.28, abs=0.1)  # A4: no #set ran
    shown = page.extract_text()
    for t in texts:
        assert t in shown


def test_ipython_shows_a_str_as_escaped_text_and_markdown_as_markup():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        assert install_ipython_text()
        fmt = shell.display_formatter
        assert fmt.format("$x$ <b>")[0]["text/markdown"] == "\\$x\\$ \\<b\\>"
        assert fmt.format(Markdown("*em*"))[0]["text/markdown"] == "*em*"
        assert "text/markdown" not in fmt.format(3)[0]
    finally:
        InteractiveShell.clear_instance()
    assert not install_ipython_text()  # outside IPython: nothing to do
