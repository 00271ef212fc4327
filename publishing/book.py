"""The book project: ``_quarto.yml`` read into a :class:`Book`.

Supported keys: ``project: output-dir``; ``book: title, subtitle, author, date, output-file,
chapters`` (files and ``part:`` groups), ``appendices``; ``bibliography``, ``csl``;
``execute`` (``echo``, ``warning``, ``fig-width``, ``fig-height``, ``fig-dpi``); ``format``
(``html``, ``typst``, ``docx`` and their ``toc``, ``papersize``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Entry:
    """One item of the book's table of contents.

    ``kind`` is ``"chapter"``, ``"appendix"`` or ``"part"`` (a part has a ``title`` and no
    ``path``).
    """

    kind: str
    path: Path | None = None
    title: str = ""


@dataclass
class Book:
    """A Quarto book project rooted at ``root``."""

    root: Path
    config: dict
    entries: list[Entry] = field(default_factory=list)

    @property
    def book(self) -> dict:
        return self.config.get("book", {}) or {}

    @property
    def title(self) -> str:
        return str(self.book.get("title", "Untitled"))

    @property
    def name(self) -> str:
        """Output file stem: ``book: output-file`` or a slug of the title."""
        if self.book.get("output-file"):
            return Path(str(self.book["output-file"])).stem
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")[:60] or "book"

    @property
    def authors(self) -> list[str]:
        a = self.book.get("author", [])
        a = a if isinstance(a, list) else [a]
        return [x["name"] if isinstance(x, dict) else str(x) for x in a]

    @property
    def output_dir(self) -> str:
        return str((self.config.get("project", {}) or {}).get("output-dir", "_book"))

    @property
    def execute(self) -> dict:
        return {"echo": False, "warning": True, **(self.config.get("execute", {}) or {})}

    @property
    def formats(self) -> dict:
        return self.config.get("format", {}) or {}

    def resource(self, key: str) -> Path | None:
        """A top-level file option (``bibliography``, ``csl``) as an absolute path."""
        v = self.config.get(key)
        if isinstance(v, list):
            v = v[0] if v else None
        return (self.root / v) if v else None

    def resources(self, key: str) -> list[Path]:
        """Every file of a top-level option that may be a list (``bibliography``)."""
        v = self.config.get(key)
        items = v if isinstance(v, list) else [v] if v else []
        return [self.root / str(x) for x in items]

    @property
    def chapters(self) -> list[Entry]:
        return [e for e in self.entries if e.kind != "part"]


def _entries(items, kind: str, root: Path) -> list[Entry]:
    out: list[Entry] = []
    for item in items or []:
        if isinstance(item, dict) and "part" in item:
            part = str(item["part"])
            if part.endswith(".qmd"):  # a part page given as a file
                out.append(Entry("chapter" if kind == "chapter" else kind, root / part))
            else:
                out.append(Entry("part", None, part))
            out.extend(_entries(item.get("chapters"), kind, root))
        elif isinstance(item, dict) and "href" in item:
            out.append(Entry(kind, root / str(item["href"])))
        else:
            out.append(Entry(kind, root / str(item)))
    return out


def load(root: Path | str) -> Book:
    """Read ``root/_quarto.yml``; raise ``FileNotFoundError`` for a missing chapter file."""
    root = Path(root).resolve()
    config = yaml.safe_load((root / "_quarto.yml").read_text(encoding="utf-8")) or {}
    book = Book(root, config)
    spec = config.get("book", {}) or {}
    book.entries = _entries(spec.get("chapters"), "chapter", root)
    appendices = _entries(spec.get("appendices"), "appendix", root)
    if appendices:
        book.entries.append(Entry("part", None, "Appendices"))
        book.entries.extend(appendices)
    missing = [str(e.path) for e in book.chapters if not e.path.exists()]
    if missing:
        raise FileNotFoundError(f"chapters listed in _quarto.yml not found: {missing}")
    return book
