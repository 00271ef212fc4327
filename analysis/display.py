"""Layout helpers for chapters: tables as pandoc pipe tables, so they are real tables in
HTML, PDF (Typst) and DOCX alike, under Quarto and the built-in engine."""

from __future__ import annotations

import pandas as pd


def markdown_table(df: pd.DataFrame, *, align: str | None = None) -> str:
    """A pandoc pipe table of ``df`` (index dropped; cells as text).

    ``align`` is one letter per column (``l``, ``r``, ``c``); default: first column left,
    others right.

    Examples
    --------
    >>> print(markdown_table(pd.DataFrame({"Arm": ["A"], "n": [3]})))
    | Arm | n |
    |:----|----:|
    | A | 3 |
    """
    cols = [str(c) for c in df.columns]
    align = align or ("l" + "r" * (len(cols) - 1))
    rule = {"l": ":----", "r": "----:", "c": ":----:"}
    lines = ["| " + " | ".join(_cell(c) for c in cols) + " |",
             "|" + "|".join(rule[a] for a in align) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines)


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    return str(v).replace("|", "\\|").replace("\n", " ")


def show_table(df: pd.DataFrame, *, align: str | None = None):
    """Display ``df`` in a chapter cell as a markdown table (use with ``#| tbl-cap``)."""
    from IPython.display import Markdown

    return Markdown(markdown_table(df, align=align))


def show_markdown(text: str):
    """Display markdown text produced by the analysis (e.g. a computed sentence)."""
    from IPython.display import Markdown

    return Markdown(text)
