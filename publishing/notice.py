"""Page marks: the synthetic-data notice and the BLINDED mark, for every page of every format.

The marks are made per render as files that both engines use: an HTML fragment with a fixed
banner (``include-before-body``), a Typst ``#set page(foreground: ...)`` rule
(``include-in-header``, placed before the template's own page settings, which keep it), and a
DOCX reference document whose page header carries the text (``reference-doc``). Whatever they
hold, the marks are text in each format (:mod:`analysis.escape`): HTML-escaped, a Typst string
literal, XML-safe DOCX text.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from analysis.escape import docx_text, escape_html, typst_string

SYNTHETIC = "SYNTHETIC DATA \u2014 not real trial results"
BLINDED = "BLINDED"


def marks(data_dir: Path | str | None, blinded: bool | None = None, spec=None) -> list[str]:
    """The marks every page must carry: synthetic when ``dataset.yaml`` says so, or says
    nothing and the folder is the specification's own, declared ``data.synthetic``;
    ``blinded`` defaults to ``$REPORT_BLINDED == "1"``."""
    from analysis.data import synthetic_data

    if blinded is None:
        blinded = os.environ.get("REPORT_BLINDED", "0") == "1"
    out = [SYNTHETIC] if data_dir and synthetic_data(data_dir, spec) else []
    return out + ([BLINDED] if blinded else [])


HTML_CSS = """<style>
.pub-notice{position:fixed;top:0;left:0;right:0;z-index:1000;background:#b00020;color:#fff;
font:bold 14px/1.4 system-ui,sans-serif;text-align:center;padding:4px 8px}
body{padding-top:2.4em}
</style>
"""


def html_fragment(texts: list[str]) -> str:
    """A fixed banner shown at the top of the HTML page ("" when there is nothing to show)."""
    if not texts:
        return ""
    body = " \u00b7 ".join(escape_html(t) for t in texts)
    return HTML_CSS + f'<div class="pub-notice" role="note">{body}</div>\n'


def typst_header(texts: list[str]) -> str:
    """A Typst rule putting the marks at the top of every page.

    The mark is drawn in the page *foreground* rather than the header, so a template that sets
    its own running header (e.g. Quarto's Typst book template) cannot replace it.
    """
    if not texts:
        return ""
    body = typst_string(" · ".join(texts))  # a string literal: text, never Typst code
    return ('#set page(foreground: place(top + center, dy: 1.2cm, text(size: 9pt, '
            f'weight: "bold", fill: rgb("#b00020"), {body})))\n')


TABLE_FONT_PT = 9


def reference_docx(texts: list[str], out: Path, pandoc: str | None = None) -> Path:
    """Pandoc's default reference.docx with ``texts`` in every page header, a Callout style and
    table cells in :data:`TABLE_FONT_PT` point type."""
    import docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    if pandoc is None:
        import pypandoc

        pandoc = pypandoc.get_pandoc_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    data = subprocess.run([pandoc, "--print-default-data-file", "reference.docx"],
                          check=True, capture_output=True).stdout
    out.write_bytes(data)
    doc = docx.Document(str(out))
    if "Callout" not in [s.name for s in doc.styles]:
        st = doc.styles.add_style("Callout", WD_STYLE_TYPE.PARAGRAPH)
        st.base_style = doc.styles["Normal"]
        st.paragraph_format.left_indent = Pt(14)
        st.font.color.rgb = RGBColor(0x1F, 0x3A, 0x5F)
    names = [s.name for s in doc.styles]
    if "Compact" in names:  # pandoc's style for table cells: smaller, so numbers do not wrap
        doc.styles["Compact"].font.size = Pt(TABLE_FONT_PT)
    if texts:
        for section in doc.sections:
            section.header.is_linked_to_previous = False
            p = section.header.paragraphs[0] if section.header.paragraphs else \
                section.header.add_paragraph()
            p.text = ""
            run = p.add_run(docx_text(" \u00b7 ".join(texts)))
            run.bold = True
            run.font.size = Pt(9)
            run.font.color.rgb = RGBColor(0xB0, 0x00, 0x20)
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.save(str(out))
    return out


def write_assets(texts: list[str], folder: Path) -> dict[str, Path]:
    """Write the per-render mark files into ``folder``; returns them by role."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"html": folder / "notice.html", "typst": folder / "notice.typ",
             "docx": folder / "reference.docx"}
    paths["html"].write_text(html_fragment(texts), encoding="utf-8")
    paths["typst"].write_text(typst_header(texts), encoding="utf-8")
    reference_docx(texts, paths["docx"])
    return paths
