"""The CONSORT 2025 checklist, filled in from ``consort`` anchors in the book's chapters.

A chapter says where it addresses an item with a pandoc attribute, valid in Quarto and invisible
in the rendered text:

- on a heading: ``## Trial design {#sec-design consort="9 11"}`` -> that section;
- on a div: ``::: {consort="25"}`` ... ``:::`` -> the tables and figures inside it (labelled
  cells), else the section the div is in.

The chapters are not executed: their markdown, with each labelled cell replaced by an empty
float of the same label, is numbered by the engine's own numbering
(:func:`publishing.pandoc_ast.number_chapter`), so "Section 4.1", "Table 5.2" are the numbers
of the rendered report. Items without an anchor are listed as not addressed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from publishing import book as bookmod
from publishing import pandoc_ast, qmd

ITEMS_PATH = Path(__file__).with_name("consort2025.yaml")
ATTR = "consort"
NOT_ADDRESSED = "Not addressed"


@lru_cache(maxsize=1)
def reference() -> dict:
    """The checklist reference data (``consort2025.yaml``)."""
    return yaml.safe_load(ITEMS_PATH.read_text(encoding="utf-8"))


def items() -> pd.DataFrame:
    """``Item, Section, Topic, Description``: the CONSORT 2025 items, in checklist order."""
    return pd.DataFrame([{"Item": i["id"], "Section": i["section"], "Topic": i["topic"],
                          "Description": i["text"]} for i in reference()["items"]])


@dataclass
class Anchor:
    """Where one anchor points: a place such as ``"Section 3.1 Trial design"``."""

    items: list[str]
    places: list[str] = field(default_factory=list)
    chapter: str = ""


def _skeleton(doc: qmd.Document, defaults: dict) -> str:
    """The chapter's markdown with each labelled, included cell as an empty float."""
    blocks = []
    for cell in doc.cells:
        if cell.kind == "markdown":
            blocks.append(qmd.INLINE.sub("`value`", cell.source))
            continue
        opts = {**defaults, **cell.options}
        if opts.get("include", True) in (False, "false", "False", 0):
            continue
        label = cell.label
        kind = label[:3] if label[:4] in ("fig-", "tbl-") else None
        if kind:
            blocks.append(f"::::: {{#{label} .pub-float kind={kind}}}\n:::::")
    return "\n\n".join(b.strip("\n") for b in blocks if b.strip()) + "\n"


def _ast(markdown: str, cwd: Path) -> dict:
    from publishing.builtin import to_ast

    return to_ast(markdown, cwd)


def _header_place(block) -> tuple[str, int]:
    level, (_ident, _classes, _kv), inlines = block["c"]
    number = ""
    rest = inlines
    if inlines and inlines[0].get("t") == "Span" and \
            "header-section-number" in inlines[0]["c"][0][1]:
        number = pandoc_ast.text_of(inlines[0]["c"][1])
        rest = inlines[1:]
    title = pandoc_ast.text_of(rest).strip()
    if not number:
        return title, level
    word = "Chapter" if level == 1 and number.isdigit() else \
        "Appendix" if level == 1 else "Section"
    return f"{word} {number} {title}", level


def _floats(blocks, registry) -> list[str]:
    found = []

    def visit(bs):
        for b in bs:
            t = b.get("t")
            ident = ""
            if t in ("Figure", "Table", "Div"):
                ident = b["c"][0][0]
            if ident in registry.labels and ident[:4] in ("fig-", "tbl-"):
                word, number = registry.labels[ident]
                found.append(f"{word} {number}")
            if t == "Div":
                visit(b["c"][1])
            elif t == "Figure":
                visit(b["c"][2])

    visit(blocks)
    return found


def _ids(value: str) -> list[str]:
    return [x for x in re.split(r"[\s,;]+", str(value)) if x]


def scan(project: Path | str = ".") -> list[Anchor]:
    """Every ``consort`` anchor of the book at ``project``, with the places it points to."""
    book = bookmod.load(project)
    registry = pandoc_ast.Registry()
    defaults = book.execute
    anchors: list[Anchor] = []
    for entry in book.entries:
        if entry.kind == "part":
            continue
        doc = qmd.read(entry.path)
        md = _skeleton(doc, defaults)
        if doc.meta.get("title") and not md.lstrip().startswith("# "):
            md = f"# {doc.meta['title']}\n\n{md}"
        blocks = pandoc_ast.number_chapter(_ast(md, entry.path.parent)["blocks"], registry,
                                           entry.kind)
        rel = entry.path.relative_to(book.root).as_posix()
        section = [""] * 7  # current heading text per level

        def walk(bs, rel=rel, section=section):
            for b in bs:
                t = b.get("t")
                if t == "Header":
                    place, level = _header_place(b)
                    section[level:] = [place] + [""] * (6 - level)
                    kv = dict(b["c"][1][2])
                    if ATTR in kv:
                        anchors.append(Anchor(_ids(kv[ATTR]), [place], rel))
                elif t == "Div":
                    kv = dict(b["c"][0][2])
                    if ATTR in kv:
                        places = _floats(b["c"][1], registry)
                        if not places:
                            places = [next((s for s in reversed(section) if s), rel)]
                        anchors.append(Anchor(_ids(kv[ATTR]), places, rel))
                    walk(b["c"][1])

        walk(blocks)
    return anchors


def checklist(project: Path | str = ".") -> pd.DataFrame:
    """The filled-in checklist: ``Item, Section, Topic, Description, Addressed in, Status``.

    ``Addressed in`` joins the places (in report order) with ``"; "``; items without an
    anchor read :data:`NOT_ADDRESSED`. Anchors naming an unknown item raise ``ValueError``.
    """
    df = items()
    known = set(df["Item"])
    where: dict[str, list[str]] = {}
    for a in scan(project):
        for item in a.items:
            if item not in known:
                raise ValueError(f"{a.chapter}: unknown CONSORT 2025 item {item!r} in an anchor")
            for p in a.places:
                if p not in where.setdefault(item, []):
                    where[item].append(p)
    df["Addressed in"] = df["Item"].map(lambda i: "; ".join(where.get(i, [])) or NOT_ADDRESSED)
    df["Status"] = df["Item"].map(lambda i: "Addressed" if i in where else NOT_ADDRESSED)
    return df


def display_table(df: pd.DataFrame) -> pd.DataFrame:
    """A narrow version for a portrait page: ``Item, Topic, Addressed in``."""
    return df[["Item", "Topic", "Addressed in"]]


def unaddressed(df: pd.DataFrame) -> list[str]:
    """Items of a filled-in checklist that no anchor addresses."""
    return df.loc[df["Status"] == NOT_ADDRESSED, "Item"].tolist()
