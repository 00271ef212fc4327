"""Read a Quarto ``.qmd`` file: front matter, include shortcodes, cells and their options.

Cells are split by jupytext's ``Rmd`` reader (it understands ```` ```{python} ```` chunks and
leaves four-backtick fences alone); the ``#|`` option lines are parsed here as YAML, as Quarto
does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

INCLUDE = re.compile(r"^[ \t]*\{\{<\s*include\s+(\S+?)\s*>\}\}[ \t]*$", re.MULTILINE)
FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*(\n|\Z)", re.DOTALL)
INLINE = re.compile(r"`\{python\}\s+([^`]+?)`")
OPTION = re.compile(r"^#\|\s?(.*)$")


class QmdError(ValueError):
    """A malformed ``.qmd`` file (bad front matter, missing include, bad cell options)."""


@dataclass
class Cell:
    """One block of a chapter: ``kind`` is ``"markdown"`` or ``"code"``."""

    kind: str
    source: str
    options: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return str(self.options.get("label", ""))


@dataclass
class Document:
    """A parsed ``.qmd``: its path, front matter and cells (includes already expanded)."""

    path: Path
    meta: dict
    cells: list[Cell]


def split_front_matter(text: str) -> tuple[dict, str]:
    """``(metadata, body)`` of a document that may start with a YAML block."""
    m = FRONT.match(text)
    if not m:
        return {}, text
    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as err:
        raise QmdError(f"bad YAML front matter: {err}") from err
    return meta, text[m.end():]


def expand_includes(text: str, base: Path, _seen: tuple[Path, ...] = ()) -> str:
    """Replace ``{{< include file >}}`` lines by the file's body (relative to ``base``)."""

    def repl(m: re.Match) -> str:
        path = (base / m.group(1)).resolve()
        if path in _seen:
            raise QmdError(f"include cycle through {path}")
        if not path.exists():
            raise QmdError(f"include not found: {m.group(1)} (from {base})")
        _, body = split_front_matter(path.read_text(encoding="utf-8"))
        return expand_includes(body, path.parent, (*_seen, path)).strip("\n")

    return INCLUDE.sub(repl, text)


def cell_options(source: str) -> tuple[dict, str]:
    """Split the leading ``#|`` lines of a code cell into ``(options, code)``."""
    lines = source.splitlines()
    opts = []
    i = 0
    while i < len(lines) and OPTION.match(lines[i]):
        opts.append(OPTION.match(lines[i]).group(1))
        i += 1
    try:
        options = yaml.safe_load("\n".join(opts)) or {} if opts else {}
    except yaml.YAMLError as err:
        raise QmdError(f"bad cell options:\n{chr(10).join(opts)}\n{err}") from err
    if not isinstance(options, dict):
        raise QmdError(f"cell options are not a mapping: {opts}")
    return options, "\n".join(lines[i:])


def parse(text: str, path: Path | str = "doc.qmd") -> Document:
    """Parse ``.qmd`` text (the file at ``path``, which locates includes)."""
    import jupytext

    path = Path(path)
    meta, body = split_front_matter(text)
    body = expand_includes(body, path.parent)
    nb = jupytext.reads(body, fmt="Rmd")
    cells: list[Cell] = []
    for c in nb.cells:
        if c.cell_type == "code":
            lang = c.metadata.get("language", "python")
            if lang != "python":
                raise QmdError(f"{path.name}: only python cells are supported, not {lang}")
            options, code = cell_options(c.source)
            cells.append(Cell("code", code, options))
        else:
            cells.append(Cell("markdown", c.source))
    return Document(path, meta, cells)


def read(path: Path | str) -> Document:
    """Parse the ``.qmd`` file at ``path``."""
    path = Path(path)
    return parse(path.read_text(encoding="utf-8"), path)
