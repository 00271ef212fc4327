"""Layout helpers for chapters: tables as pandoc pipe tables, so they are real tables in
HTML, PDF (Typst) and DOCX alike, under Quarto and the built-in engine.

Data are text: every cell, header and shown text that is a plain ``str`` is escaped here
(:mod:`analysis.escape`); only an :class:`analysis.escape.Markdown` passes as markup."""

from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from analysis.escape import Markdown, plain_text, to_markdown


def markdown_table(df: pd.DataFrame, *, align: str | None = None) -> Markdown:
    """A pandoc pipe table of ``df`` (index dropped; cells and headers escaped as text unless
    they are :class:`~analysis.escape.Markdown`).

    ``align`` is one letter per column (``l``, ``r``, ``c``); default: first column left,
    columns of numbers right, text columns left. Cells of numbers, and of a column of short
    labels (``Week 8``), never wrap (:func:`_unbroken`).

    Examples
    --------
    >>> print(markdown_table(pd.DataFrame({"Arm": ["A"], "n": [3]})))
    | Arm | n |
    |:-------|------:|
    | A | 3 |
    """
    cols = [str(c) for c in df.columns]
    align = align or "".join(
        "l" if i == 0 or not _numeric(df.iloc[:, i]) else "r" for i in range(len(cols)))
    rules = [_rule(a, w) for a, w in zip(align, column_widths(df), strict=True)]
    lines = ["| " + " | ".join(_md(c) for c in df.columns) + " |",
             "|" + "|".join(rules) + "|"]
    keep = [a == "r" or _short(df.iloc[:, i]) for i, a in enumerate(align)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_unbroken(_md(v)) if k else _md(v)
                                       for v, k in zip(row, keep, strict=True)) + " |")
    return Markdown("\n".join(lines))


def captioned_table(df: pd.DataFrame, label: str, caption: str | Markdown, *,
                    align: str | None = None) -> Markdown:
    """``df`` as a numbered, cross-referenceable table: Quarto's float div ``::: {#tbl-x}``
    holding the pipe table and the caption as its last paragraph. Both engines number it
    (Table 4.2) and resolve ``@tbl-x``, so a cell can emit one labelled table per item of a
    loop (``show_markdown(Markdown("\\n\\n").join(captioned_table(...) for ...))``).
    ``caption`` is escaped unless it is :class:`~analysis.escape.Markdown`.

    >>> print(captioned_table(pd.DataFrame({"Arm": ["A"], "n": [3]}), "tbl-a", "Counts"))
    ::: {#tbl-a}
    | Arm | n |
    |:-------|------:|
    | A | 3 |
    <BLANKLINE>
    Counts
    :::
    """
    if not label.startswith("tbl-") or any(ch.isspace() or ch in "{}" for ch in label):
        raise ValueError(f"a table label starts with 'tbl-' and has no spaces: {label!r}")
    text = " ".join(str(to_markdown(caption)).split())
    return Markdown(f"::: {{#{label}}}\n{markdown_table(df, align=align)}\n\n{text}\n:::")


def _unbroken(cell: str) -> str:
    """A cell of numbers that never wraps inside a value (``4.6 (−12.9 to 21.8)``,
    ``p = 0.64``): its spaces become no-break spaces. Such cells get the width of their
    content (:func:`column_widths`), so they fit."""
    return cell.replace(" ", "\u00a0")


SHORT = 10  # a text column whose every cell is at most this wide never wraps ("Week 8")


def _short(col: pd.Series) -> bool:
    """True when every cell of a text column is short (:data:`SHORT`): kept on one line."""
    return all(_text_width(_cell(v)) <= SHORT for v in col)


def _numeric(col: pd.Series) -> bool:
    """True when every non-empty cell starts like a number (``12``, ``−3.1 (...)``, ``<0.001``)."""
    cells = [_cell(v) for v in col]
    cells = [c for c in cells if c not in ("", "–", "-")]
    return bool(cells) and all(c[0].isdigit() or c[0] in "−-+<>.(" for c in cells)


def column_widths(df: pd.DataFrame, first_max: int = 30, min_width: int = 6,
                  max_width: int = 40) -> list[int]:
    """Relative column widths for a pipe table's separator line, following the content.

    Pandoc reads relative widths from the dashes of the separator when a table line is long.
    A column gets room for its longest body cell and its header's longest word (headers
    wrap), plus two characters of padding. A column whose cells never wrap (numbers, short
    labels: :func:`markdown_table`) gets 1.3 times its longest cell plus three: digits are
    wider than the average character, and Word and LibreOffice break an unbreakable value by
    character when it is a little too wide for its cell. The first (label) column is capped
    at ``first_max`` and the others at ``max_width``, so long text wraps instead of starving
    the other columns.

    >>> column_widths(pd.DataFrame({"Characteristic": ["Age (years)"], "Arm A mean": ["41.2"]}))
    [17, 9]
    """
    widths = []
    for i, c in enumerate(df.columns):
        body = max([0] + [_text_width(_cell(v)) for v in df[c]])
        word = max([0] + [_text_width(w) for w in _cell(c).split()])
        if (i > 0 and _numeric(df[c])) or _short(df[c]):  # cells that never wrap
            w = max(math.ceil(1.3 * body), word) + 3
        else:
            w = max(body, word) + 2
        widths.append(min(w, first_max) if i == 0 else min(max(w, min_width), max_width))
    return widths


def _text_width(text: str) -> int:
    """Approximate printed width in average characters (capitals count 1.3)."""
    return math.ceil(sum(1.3 if ch.isupper() else 1.0 for ch in text))


def _rule(align: str, width: int) -> str:
    dashes = "-" * max(width, 3)
    return {"l": ":" + dashes, "r": dashes + ":", "c": ":" + dashes + ":"}[align]


def _cell(v) -> str:
    """The text a cell shows (for measuring and aligning; :func:`_md` writes it)."""
    return plain_text(v)


def _md(v) -> str:
    """A cell as pipe-table markdown: text escaped, authored markdown on one line."""
    return str(to_markdown(v)).replace("\n", " ")


def show_table(df: pd.DataFrame, *, align: str | None = None):
    """Display ``df`` in a chapter cell as a markdown table (use with ``#| tbl-cap``)."""
    from IPython.display import Markdown as Display

    return Display(str(markdown_table(df, align=align)))


def show_markdown(text: str | Markdown):
    """Display a sentence produced by the analysis: a :class:`~analysis.escape.Markdown` as
    markup, a plain ``str`` as literal text (escaped)."""
    from IPython.display import Markdown as Display

    return Display(str(to_markdown(text)))


def figure_dir() -> Path:
    """The folder of the exported figures: ``figures/`` beside ``$REPORT_RESULTS`` (the
    render's pre-step writes both), else figures exported once per process from the report's
    trial and store into a temporary folder."""
    results = os.environ.get("REPORT_RESULTS")
    if results and (Path(results).parent / "figures").is_dir():
        return Path(results).parent / "figures"
    return _exported_here()


@lru_cache(maxsize=1)
def _exported_here() -> Path:
    import tempfile

    from analysis.pipeline import write_figures
    from analysis.report import load_report

    rep = load_report()
    out = Path(tempfile.mkdtemp(prefix="report-figures-"))
    write_figures(rep.trial, rep.store, out)
    return out


def figure_files(name: str, folder: Path | None = None) -> dict[str, Path]:
    """``{"png": path, "svg": path}`` of the exported figure ``name``; a clear error naming the
    folder when the figure was not exported."""
    folder = Path(folder) if folder else figure_dir()
    files = {fmt: folder / f"{name}.{fmt}" for fmt in ("png", "svg")}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        known = sorted(p.stem for p in folder.glob("*.svg"))
        raise FileNotFoundError(f"figure {name!r} was not exported to {folder} (missing "
                                f"{', '.join(missing)}); exported figures: {', '.join(known)}")
    return files


def show_figure(name: str, *, alt: str = "", folder: Path | None = None) -> None:
    """Display the exported figure ``name`` in a chapter cell: the very files the pipeline
    wrote (``figures/<name>.png`` for HTML and DOCX, ``.svg`` for the PDF), so the manuscript
    shows what a journal receives, "Synthetic data" mark included.

    The cell keeps its ``label: fig-…``, ``fig-cap`` and ``fig-alt`` options, so numbering,
    cross-references and alt text are the engines' own (Quarto and the built-in engine read
    Jupyter image outputs alike). ``alt`` is only the plain-text fallback of the output.
    """
    import base64

    from IPython.display import display

    files = figure_files(name, folder)
    display({"image/png": base64.b64encode(files["png"].read_bytes()).decode("ascii"),
             "image/svg+xml": files["svg"].read_text(encoding="utf-8"),
             "text/plain": f"<{alt or name}>"}, raw=True)
