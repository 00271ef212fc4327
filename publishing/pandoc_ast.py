"""Book semantics on pandoc's JSON AST: numbering, cross-references, callouts.

Numbering follows Quarto books: chapters 1, 2, ...; appendices A, B, ...; sections 3.1, 3.1.2;
figures and tables per chapter (Figure 3.1, Table A.2). A chapter whose first heading is
``{.unnumbered}`` (or ``{-}``) has no number and neither have its sections. Floats are
code cells labelled ``fig-*``/``tbl-*`` (:mod:`publishing.assemble`) and Quarto's float divs
``::: {#tbl-x}`` holding the table (or figure) with its caption as the last paragraph (what a
cell emits as Markdown for tables made in a loop). Cross-references
``@fig-x`` / ``@tbl-x`` / ``@sec-x`` (pandoc parses them as citations) become links reading
"Figure 3.1", "Table 4.2", "Chapter 3", "Appendix A" or "Section 3.2"; ``[-@fig-x]`` gives the
number alone. An unknown label becomes ``?@label``, as in Quarto, and is reported.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

PREFIX = {"fig": "Figure", "tbl": "Table", "sec": "Section"}
CALLOUTS = {"note": "Note", "warning": "Warning", "important": "Important", "tip": "Tip",
            "caution": "Caution"}


def Str(s):  # noqa: N802 - pandoc constructor names
    return {"t": "Str", "c": s}


def Space():  # noqa: N802
    return {"t": "Space"}


def Plain(inlines):  # noqa: N802
    return {"t": "Plain", "c": inlines}


def Para(inlines):  # noqa: N802
    return {"t": "Para", "c": inlines}


def Div(ident, classes, blocks, kv=()):  # noqa: N802
    return {"t": "Div", "c": [[ident, list(classes), [list(p) for p in kv]], blocks]}


def RawBlock(fmt, text):  # noqa: N802
    return {"t": "RawBlock", "c": [fmt, text]}


def text_of(inlines) -> str:
    """Plain text of a list of inlines."""
    out = []
    for x in inlines:
        t = x.get("t")
        if t == "Str":
            out.append(x["c"])
        elif t in ("Space", "SoftBreak", "LineBreak"):
            out.append(" ")
        elif t in ("Emph", "Strong", "SmallCaps", "Strikeout", "Underline", "Superscript",
                   "Subscript"):
            out.append(text_of(x["c"]))
        elif t in ("Span", "Link", "Quoted"):
            out.append(text_of(x["c"][1]))
        elif t == "Code":
            out.append(x["c"][1])
    return "".join(out)


@dataclass
class Registry:
    """Labels seen so far: label -> (kind, number, title, is_chapter_heading)."""

    labels: dict = field(default_factory=dict)
    unresolved: list = field(default_factory=list)
    #: (chapter, label) of each reference to an unknown label (filled by the engine)
    missing: list = field(default_factory=list)
    chapters: int = 0
    appendices: int = 0


def _alpha(n: int) -> str:
    return chr(ord("A") + n - 1)


class ChapterNumberer:
    """Numbers one chapter's headings and floats, registering labels."""

    def __init__(self, registry: Registry, kind: str):
        self.reg, self.kind = registry, kind
        self.chap: str | None = None
        self.counts: list[int] = []
        self.floats = {"fig": 0, "tbl": 0}
        self.first = True

    def _float_number(self, kind: str) -> str:
        self.floats[kind] += 1
        n = str(self.floats[kind])
        return f"{self.chap}.{n}" if self.chap else n

    def header(self, b):
        level, (ident, classes, kv), inlines = b["c"]
        unnumbered = "unnumbered" in classes or "-" in classes
        if self.first and level == 1:
            self.first = False
            if not unnumbered:
                if self.kind == "appendix":
                    self.reg.appendices += 1
                    self.chap = _alpha(self.reg.appendices)
                else:
                    self.reg.chapters += 1
                    self.chap = str(self.reg.chapters)
        number = None
        if self.chap and not unnumbered:
            depth = max(level - 1, 0)
            if depth == 0:
                number = self.chap
            else:
                self.counts = (self.counts + [0] * depth)[:depth]
                self.counts[-1] += 1
                number = ".".join([self.chap, *map(str, self.counts)])
        if number:
            span = {"t": "Span", "c": [["", ["header-section-number"], []], [Str(number)]]}
            inlines[:0] = [span, Space()]
        if "unnumbered" not in classes:
            classes.append("unnumbered")  # the number is in the text; pandoc must not add one
        if ident.startswith("sec-"):
            if level == 1 and number:
                word = "Appendix" if self.kind == "appendix" else "Chapter"
                self.reg.labels[ident] = (word, number)
            else:
                self.reg.labels[ident] = ("Section", number or text_of(inlines))

    def caption_prefix(self, kind: str, ident: str) -> list:
        number = self._float_number(kind)
        self.reg.labels[ident] = (PREFIX[kind], number)
        return [Str(f"{PREFIX[kind]}\u00a0{number}:"), Space()]

    def float_div(self, b) -> list:
        (ident, classes, kv), blocks = b["c"]
        kind = dict(kv).get("kind", "fig")
        caption: list = []
        content = []
        for x in _flatten(blocks):
            if x["t"] == "Div" and "pub-caption" in x["c"][0][1]:
                for y in x["c"][1]:
                    if y["t"] in ("Para", "Plain"):
                        caption += ([Space()] if caption else []) + y["c"]
            else:
                content.append(x)
        if ident:
            caption = self.caption_prefix(kind, ident) + caption
        cap = [None, [Plain(caption)]] if caption else [None, []]
        if kind == "tbl":
            for i, x in enumerate(content):
                if x["t"] == "Table":
                    x["c"][0][0] = ident
                    x["c"][1] = cap
                    return content[:i + 1] + content[i + 1:]
            return [Div(ident, ["pub-table"], [Para(caption)] + content)]
        content = [Plain(x["c"]) if x["t"] == "Para" else x for x in content]
        return [{"t": "Figure", "c": [[ident, [], []], cap, content or [Plain([])]]}]

    def walk(self, blocks: list) -> list:
        out = []
        for b in blocks:
            t = b.get("t")
            if t == "Header":
                self.header(b)
            elif t == "Div" and "pub-float" in b["c"][0][1]:
                out.extend(self.float_div(b))
                continue
            elif t == "Div" and b["c"][0][0][:4] in ("tbl-", "fig-"):
                out.extend(self.float_div(quarto_float(b)))
                continue
            elif t == "Figure" and b["c"][0][0].startswith("fig-"):
                cap = b["c"][1][1]
                inl = cap[0]["c"] if cap and cap[0]["t"] in ("Plain", "Para") else []
                b["c"][1] = [None, [Plain(self.caption_prefix("fig", b["c"][0][0]) + inl)]]
            elif t == "Table" and b["c"][0][0].startswith("tbl-"):
                cap = b["c"][1][1]
                inl = cap[0]["c"] if cap and cap[0]["t"] in ("Plain", "Para") else []
                b["c"][1] = [None, [Plain(self.caption_prefix("tbl", b["c"][0][0]) + inl)]]
            elif t == "Div":
                b["c"][1] = self.walk(b["c"][1])
            out.append(b)
        return out


def quarto_float(b: dict) -> dict:
    """Quarto's float div ``::: {#tbl-x}`` (or ``#fig-x``): the table or figure, then its
    caption as the last paragraph, as a ``.pub-float`` div that :meth:`float_div` numbers."""
    (ident, classes, kv), blocks = b["c"]
    caption: list = []
    if len(blocks) > 1 and blocks[-1]["t"] == "Para":
        caption, blocks = [Div("", ["pub-caption"], [blocks[-1]])], blocks[:-1]
    kv = [p for p in kv if p[0] != "kind"] + [["kind", ident[:3]]]
    return Div(ident, [*classes, "pub-float"], caption + blocks, kv)


def _flatten(blocks: list) -> list:
    """Blocks with attribute-less divs replaced by their content."""
    out = []
    for b in blocks:
        if b["t"] == "Div" and b["c"][0] == ["", [], []]:
            out += _flatten(b["c"][1])
        else:
            out.append(b)
    return out


def number_chapter(blocks: list, registry: Registry, kind: str = "chapter") -> list:
    """Number a chapter's blocks in place (``kind``: ``"chapter"`` or ``"appendix"``)."""
    return ChapterNumberer(registry, kind).walk(blocks)


def _walk_inlines(node, fn):
    if isinstance(node, list):
        return [_walk_inlines(x, fn) for x in node]
    if isinstance(node, dict):
        node = {k: _walk_inlines(v, fn) for k, v in node.items()}
        if "t" in node:
            return fn(node)
    return node


def _is_xref(cid: str) -> bool:
    return cid[:4].lower() in ("fig-", "tbl-", "sec-")


def resolve_refs(blocks: list, registry: Registry) -> list:
    """Replace cross-reference citations by numbered links (unknown ones by ``?@label``)."""

    def fn(x):
        if x.get("t") != "Cite":
            return x
        cites = x["c"][0]
        if not cites or not all(_is_xref(c["citationId"]) for c in cites):
            return x
        parts = []
        for c in cites:
            cid = c["citationId"]
            label = cid[0].lower() + cid[1:]
            if label not in registry.labels:
                registry.unresolved.append(label)
                parts.append({"t": "Strong", "c": [Str(f"?@{label}")]})
                continue
            word, number = registry.labels[label]
            bare = c["citationMode"]["t"] == "SuppressAuthor"
            txt = number if bare else f"{word}\u00a0{number}"
            parts.append({"t": "Link", "c": [["", ["quarto-xref"], []], [Str(txt)],
                                             [f"#{label}", ""]]})
        out = []
        for i, p in enumerate(parts):
            out += ([Str(","), Space()] if i else []) + [p]
        return {"t": "Span", "c": [["", [], []], out]}

    return _walk_inlines(blocks, fn)


def callouts(blocks: list) -> list:
    """Give each ``.callout-*`` div a title block (attribute, first heading, or the type)."""
    out = []
    for b in blocks:
        if b.get("t") == "Div":
            (ident, classes, kv), inner = b["c"]
            inner = callouts(inner)
            kind = next((c[8:] for c in classes if c.startswith("callout-")), None)
            if kind in CALLOUTS:
                title = [Str(dict(kv)["title"])] if "title" in dict(kv) else None
                if title is None and inner and inner[0]["t"] == "Header":
                    title = inner[0]["c"][2]
                    inner = inner[1:]
                title = title or [Str(CALLOUTS[kind])]
                head = Div("", ["callout-title"], [Para([{"t": "Strong", "c": title}])])
                b = Div(ident, ["callout", f"callout-{kind}"],
                        [head, Div("", ["callout-body"], inner)])
            else:
                b["c"][1] = inner
        out.append(b)
    return out


def dedupe_ids(blocks: list) -> list:
    """Make auto-generated heading ids unique across chapters (``sec-*`` ids are kept)."""
    seen: dict[str, int] = {}

    def visit(bs):
        for b in bs:
            if b.get("t") == "Header":
                ident = b["c"][1][0]
                if ident and not ident.startswith("sec-") and ident in seen:
                    seen[ident] += 1
                    b["c"][1][0] = f"{ident}-{seen[ident]}"
                else:
                    seen.setdefault(ident, 1)
            elif b.get("t") == "Div":
                visit(b["c"][1])

    visit(blocks)
    return blocks


TYPST_CALLOUT = {"note": "#0758e5", "warning": "#ff9100", "important": "#cc1914",
                 "tip": "#00a047", "caution": "#fc5300"}


def for_format(blocks: list, fmt: str) -> list:
    """A copy of ``blocks`` adapted to one output format (``html``, ``typst`` or ``docx``)."""
    blocks = copy.deepcopy(blocks)

    def visit(bs):
        out = []
        for b in bs:
            t = b.get("t")
            if t == "Div":
                (ident, classes, kv), inner = b["c"]
                inner = visit(inner)
                kind = next((c[8:] for c in classes if c.startswith("callout-")), None)
                if "callout" in classes and kind and fmt == "typst":
                    color = TYPST_CALLOUT.get(kind, "#0758e5")
                    out += [RawBlock("typst", f'#block(width: 100%, inset: 8pt, fill: '
                                     f'rgb("{color}").lighten(92%), stroke: (left: 3pt + '
                                     f'rgb("{color}")))[')] + inner + [RawBlock("typst", "]")]
                    continue
                if "callout" in classes and fmt == "docx":
                    b["c"][0][2] = [*kv, ["custom-style", "Callout"]]
                b["c"][1] = inner
            elif t == "Figure" and fmt == "typst":
                b["c"][2] = _walk_inlines(b["c"][2], _svg_image)
            out.append(b)
        return out

    return visit(blocks)


def _svg_image(x):
    if x.get("t") == "Image":
        src = x["c"][2][0]
        if src.endswith(".png") and "pub-svg" in x["c"][0][1]:
            x["c"][2][0] = src[:-4] + ".svg"
    return x
