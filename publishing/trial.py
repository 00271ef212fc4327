"""The trial a render is about: its specification, the book it configures, its optional parts.

Which trial
    :func:`resolve`: the ``trial`` given (``--trial``, ``make report TRIAL=...``), else
    ``$REPORT_TRIAL``, else the project's ``[tool.trial-report] default-trial`` in its
    ``pyproject.toml``; a project with none of them (a bare Quarto book) has no trial.

The book
    ``_quarto.yml`` is a trial-free template. When the book is staged, the keys it leaves out
    are filled in from the specification (:func:`book_metadata`): ``title`` = the trial's
    title, ``subtitle`` = "The <short name> randomised controlled trial: analysis report",
    ``author`` = the declared authors (else a "[to be supplied: authors]" placeholder) and
    ``output-file`` = "<short name>-report". A key the template sets wins.

Optional parts (:func:`select`), decided by :func:`analysis.spec.conditions.holds` for the
specification and the datasets present in the data folder, before anything is executed:

- a chapter whose front matter ``when:`` mapping does not hold is left out of the staged book
  (its entry in the chapter list; a part left with no chapter goes too);
- a fenced div ``::: {.when module="adverse_events"}`` ... ``:::`` whose attributes do not hold
  is removed with everything inside (text, cells, labels); one that holds is unwrapped (the
  ``.when`` class and the condition attributes go; other attributes keep the div). An
  attribute ``not-<key>="v"`` is the negation (``not: {<key>: v}``).

Both engines then render the same filtered sources. A cross-reference to a label that was
left out fails the build (:func:`dangling_references`), naming the chapter, the label and
the condition that removed it.
"""

from __future__ import annotations

import os
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from publishing import qmd


class TrialError(RuntimeError):
    """The trial or its optional parts cannot be resolved; the message says where."""


# --- which trial ------------------------------------------------------------------------------


def spec_file(path: str | Path) -> Path:
    """``path``, or ``path/trial.yaml`` when ``path`` is a folder."""
    p = Path(path)
    return p / "trial.yaml" if p.is_dir() else p


def project_default(project: Path) -> Path | None:
    """The ``default-trial`` of ``project/pyproject.toml`` (``[tool.trial-report]``), if any."""
    try:
        with open(Path(project) / "pyproject.toml", "rb") as fh:
            folder = tomllib.load(fh)["tool"]["trial-report"]["default-trial"]
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError):
        return None
    return spec_file(Path(project) / folder)


def resolve(project: Path, trial: str | Path | None = None) -> Path | None:
    """The specification file of this render (absolute), or None for a book with no trial."""
    given = trial or os.environ.get("REPORT_TRIAL")
    path = spec_file(given) if given else project_default(project)
    if path is None:
        return None
    path = Path(os.path.abspath(path))
    if not path.is_file():
        raise TrialError(f"trial specification {path} not found (give TRIAL=trials/<name>, a "
                         "folder holding trial.yaml)")
    return path


def load(path: Path | None):
    """The validated specification at ``path`` (None for None); a bad one is a
    :class:`TrialError` listing every problem (file, key, line and rule)."""
    if path is None:
        return None
    from analysis.spec.load import SpecError, load_spec

    try:
        return load_spec(path)
    except SpecError as err:
        raise TrialError(str(err)) from None


def data_folder(spec, given: str | Path | None = None) -> Path | None:
    """The data folder: ``given``, else ``$REPORT_DATA``, else the specification's
    ``data.folder``; absolute (relative to the current folder); None when none is known."""
    folder = given or os.environ.get("REPORT_DATA") or (spec.data.folder if spec else None)
    if folder is None:
        return None
    folder = Path(folder)
    return folder if folder.is_absolute() else Path.cwd() / folder


def available_datasets(folder: Path | None) -> set[str]:
    """The dataset names (file names without extension, lower case) in the data folder."""
    from analysis.spec.contract import data_files

    if folder is None or not Path(folder).is_dir():
        return set()
    return set(data_files(Path(folder)))


def declared_synthetic(folder: Path | None) -> bool | None:
    """``synthetic:`` of the data folder's ``dataset.yaml``, or None when it says nothing."""
    try:
        meta = yaml.safe_load((Path(folder) / "dataset.yaml").read_text(encoding="utf-8"))
    except (OSError, TypeError, yaml.YAMLError):
        return None
    value = meta.get("synthetic") if isinstance(meta, dict) else None
    return None if value is None else bool(value)


# --- the book ---------------------------------------------------------------------------------

PLACEHOLDER_AUTHORS = "[to be supplied: authors]"


def slug(text: str) -> str:
    """A file-name stem of ``text``.

    >>> slug("BtheB"), slug("My Trial (2024)")
    ('btheb', 'my-trial-2024')
    """
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "trial"


def book_metadata(spec) -> dict:
    """``book:`` keys taken from the specification."""
    idn = spec.identity
    authors = [{"name": a.name} for a in idn.authors] or [{"name": PLACEHOLDER_AUTHORS}]
    return {"title": " ".join(idn.title.split()),
            "subtitle": f"The {idn.short_name} randomised controlled trial: analysis report",
            "author": authors, "output-file": f"{slug(idn.short_name)}-report"}


# --- optional parts ---------------------------------------------------------------------------

_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_DIV = re.compile(r"^[ \t]{0,3}(:{3,})(.*)$")
#: where a label is defined: ``#| label: x``, ``{#x ...}`` attributes, or a quoted string
#: (a label a cell makes in code, e.g. ``captioned_table(df, "tbl-x", ...)``)
_LABEL_DEFS = re.compile(r"#\|\s*label:\s*[\"']?((?:fig|tbl|sec)-[\w:-]*\w)"
                         r"|(?<![\w@&])#((?:fig|tbl|sec)-[\w:-]*\w)"
                         r"|[\"']((?:fig|tbl|sec)-[\w:-]*\w)[\"']")
_REFS = re.compile(r"(?<![\w@])-?@((?:[Ff]ig|[Tt]bl|[Ss]ec)-[\w:-]*\w)")


@dataclass
class Selection:
    """What :func:`select` left out, for messages and the cross-reference check."""

    chapters: list[str] = field(default_factory=list)  # chapters left out (relative paths)
    divs: list[str] = field(default_factory=list)  # "<file>:<line> {attrs}" of removed divs
    #: label -> why it is gone ("chapters/x.qmd: when module=immunogenicity does not hold")
    removed: dict[str, str] = field(default_factory=dict)


def parse_attributes(text: str) -> tuple[str, list[str], dict[str, str]]:
    """``(id, classes, key-values)`` of a pandoc attribute block ``{#id .cls key="v"}`` (or
    a bare class name, as in ``::: callout-note``).

    >>> parse_attributes('{.when module="adverse_events" #x .big}')
    ('x', ['when', 'big'], {'module': 'adverse_events'})
    >>> parse_attributes("callout-note")
    ('', ['callout-note'], {})
    """
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return "", [text] if text else [], {}
    ident, classes, kv = "", [], {}
    for tok in shlex.split(text[1:-1], posix=True):
        if tok.startswith("#"):
            ident = tok[1:]
        elif tok.startswith("."):
            classes.append(tok[1:])
        elif "=" in tok:
            k, v = tok.split("=", 1)
            kv[k] = v
        else:
            classes.append(tok)
    return ident, classes, kv


def _format_attributes(ident: str, classes: list[str], kv: dict[str, str]) -> str:
    parts = ([f"#{ident}"] if ident else []) + [f".{c}" for c in classes]
    parts += [f'{k}="{v}"' for k, v in kv.items()]
    return "{" + " ".join(parts) + "}"


def condition(attrs: dict) -> dict:
    """A ``.when`` div's attributes as a :func:`analysis.spec.conditions.holds` mapping
    (``not-<key>`` becomes ``not: {<key>: ...}``).

    >>> condition({"module": "x", "not-arms": "3+"})
    {'module': 'x', 'not': {'arms': '3+'}}
    """
    out: dict = {}
    for k, v in attrs.items():
        if k.startswith("not-"):
            out.setdefault("not", {})[k[4:]] = v
        else:
            out[k] = v
    return out


def describe_condition(cond: dict) -> str:
    """``module=immunogenicity arms=3+`` (``not(...)`` for a negation)."""
    parts = []
    for k, v in cond.items():
        parts.append(f"not({describe_condition(v)})" if k == "not" and isinstance(v, dict)
                     else f"{k}={v}")
    return " ".join(parts)


def labels_defined(text: str) -> set[str]:
    """Labels a chapter text defines (cell labels, ``{#...}`` attributes, quoted labels)."""
    return {next(g for g in m.groups() if g) for m in _LABEL_DEFS.finditer(text)}


def references(text: str) -> set[str]:
    """Cross-reference labels a text uses (``@fig-x``, ``[-@tbl-y]``, ``@Sec-z``), with the
    first letter in lower case as Quarto resolves them.

    >>> sorted(references("See @Fig-a, [-@tbl-b] and a@mail.org; @sec-c."))
    ['fig-a', 'sec-c', 'tbl-b']
    """
    return {m.group(1)[0].lower() + m.group(1)[1:] for m in _REFS.finditer(text)}


def filter_divs(text: str, decide, where: str = "") -> tuple[str, list[tuple[int, str, str]]]:
    """``text`` with its ``.when`` divs decided by ``decide(condition) -> bool``: failing ones
    removed with their content, holding ones unwrapped. Returns the new text and, for each
    removed div, ``(line, attributes, removed text)``. Code blocks are left alone; an
    unclosed ``.when`` div is a :class:`TrialError` naming ``where`` and its line.
    """
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    stack: list[str] = []  # "keep" | "unwrap" | "drop" | "inner" (inside a dropped div)
    removed: list[tuple[int, str, str]] = []
    current: list[str] = []  # the text of the outermost div being dropped
    start = (0, "")
    fence: str | None = None
    dropping = 0
    for no, line in enumerate(lines, 1):
        sink = current if dropping else out
        if fence is not None:
            sink.append(line)
            m = _FENCE.match(line)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                    and not line.strip()[len(m.group(1)):].strip():
                fence = None
            continue
        m = _FENCE.match(line)
        if m:
            fence = m.group(1)
            sink.append(line)
            continue
        m = _DIV.match(line)
        if not m:
            sink.append(line)
            continue
        rest = m.group(2).strip().rstrip(":").strip()
        if not rest:  # a closing fence
            kind = stack.pop() if stack else "keep"
            if kind == "drop":
                dropping -= 1
                current.append(line)
                removed.append((start[0], start[1], "".join(current)))
                current = []
            elif kind == "inner":
                current.append(line)
            elif kind == "keep":
                out.append(line)
            continue
        if dropping:
            stack.append("inner")
            current.append(line)
            continue
        try:
            ident, classes, kv = parse_attributes(rest)
        except ValueError as err:  # unbalanced quotes
            raise TrialError(f"{where}:{no}: cannot read the div attributes {rest!r}: "
                             f"{err}") from None
        if "when" not in classes:
            stack.append("keep")
            out.append(line)
            continue
        cond = condition(kv)
        try:
            ok = decide(cond)
        except (ValueError, TypeError) as err:
            raise TrialError(f"{where}:{no}: {rest}: {err}") from None
        if not ok:
            stack.append("drop")
            dropping += 1
            start = (no, describe_condition(cond))
            current = [line]
            continue
        classes = [c for c in classes if c != "when"]
        if ident or classes:
            stack.append("keep")
            out.append(f"{m.group(1)} {_format_attributes(ident, classes, {})}\n")
        else:
            stack.append("unwrap")
    if dropping or "unwrap" in stack:
        raise TrialError(f"{where}: a `.when` div is not closed (a line of three or more "
                         "colons ends it)")
    return "".join(out), removed


def _chapter_when(path: Path) -> dict | None:
    try:
        meta, _ = qmd.split_front_matter(path.read_text(encoding="utf-8"))
    except (OSError, qmd.QmdError) as err:
        raise TrialError(f"{path}: {err}") from None
    when = meta.get("when") if isinstance(meta, dict) else None
    if when is not None and not isinstance(when, dict):
        raise TrialError(f"{path}: front matter `when:` must be a mapping such as "
                         "{module: immunogenicity}, not " + repr(when))
    return when


def _expanded(path: Path) -> str:
    """A chapter's text with its includes (best effort: a missing one is the engine's to
    report)."""
    try:
        _, body = qmd.split_front_matter(path.read_text(encoding="utf-8"))
        return qmd.expand_includes(body, path.parent)
    except (OSError, qmd.QmdError):
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def _prune(items, keep) -> list:
    """Chapter list entries that ``keep(relative path)`` keeps; parts left empty go."""
    out = []
    for item in items or []:
        if isinstance(item, dict) and "chapters" in item:
            inner = _prune(item.get("chapters"), keep)
            part = item.get("part")
            if isinstance(part, str) and part.endswith(".qmd") and not keep(part):
                continue
            if inner:
                out.append({**item, "chapters": inner})
            continue
        path = item.get("href") if isinstance(item, dict) else item
        if not isinstance(path, str) or keep(path):
            out.append(item)
    return out


def _chapter_paths(items) -> list[str]:
    out = []
    for item in items or []:
        if isinstance(item, dict):
            if isinstance(item.get("part"), str) and item["part"].endswith(".qmd"):
                out.append(item["part"])
            if isinstance(item.get("href"), str):
                out.append(item["href"])
            out += _chapter_paths(item.get("chapters"))
        elif isinstance(item, str):
            out.append(item)
    return out


#: the staged copy of the trial's own bibliography (``references:``), when the book's differs
TRIAL_BIB = "_trial-references.bib"


def _add_bibliography(root: Path, config: dict, spec) -> None:
    """Add the specification's ``references:`` file to the book's ``bibliography`` (copied
    into the staged book as :data:`TRIAL_BIB`), unless the book already lists that file."""
    bib = getattr(spec, "references", None)
    if bib is None or not Path(bib).is_file():
        return
    given = config.get("bibliography")
    items = [str(x) for x in (given if isinstance(given, list) else [given] if given else [])]
    data = Path(bib).read_bytes()
    if any((root / x).is_file() and (root / x).read_bytes() == data for x in items):
        return
    (root / TRIAL_BIB).write_bytes(data)
    config["bibliography"] = [*items, TRIAL_BIB]


def select(root: Path, spec, available: set[str], synthetic: bool | None = None,
           progress=None) -> Selection:
    """Configure the staged book at ``root`` for ``spec`` (None: a book with no trial, whose
    conditions are then an error): fill the book's metadata, leave out the chapters and
    ``.when`` divs whose conditions fail (in the book's chapters and the files they include),
    unwrap the others. Rewrites the staged files; returns what was left out."""
    from analysis.spec.conditions import holds

    sel = Selection()
    path = root / "_quarto.yml"
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    book = dict(config.get("book") or {})

    def decide(cond: dict, where: str) -> bool:
        if spec is None:
            raise TrialError(f"{where}: a condition ({describe_condition(cond)}) needs a "
                             "trial specification (TRIAL=trials/<name>)")
        return holds(spec, available, cond, synthetic=synthetic)

    # chapters whose front matter condition fails
    gone: dict[str, str] = {}
    for rel in _chapter_paths(book.get("chapters")) + _chapter_paths(book.get("appendices")):
        when = _chapter_when(root / rel)
        if when is None:
            continue
        try:
            ok = decide(when, rel)
        except (ValueError, TypeError) as err:
            raise TrialError(f"{rel}: front matter when: {err}") from None
        if not ok:
            gone[rel] = f"{rel}: chapter condition when: {describe_condition(when)} does not hold"
    for rel, why in gone.items():
        sel.chapters.append(rel)
        for label in labels_defined(_expanded(root / rel)):
            sel.removed.setdefault(label, why)
    for key in ("chapters", "appendices"):
        if key in book:
            book[key] = _prune(book[key], lambda p: p not in gone)
            if not book[key] and key == "appendices":
                del book[key]
    if spec is not None:
        for k, v in book_metadata(spec).items():
            book.setdefault(k, v)
        _add_bibliography(root, config, spec)
    config["book"] = book
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")

    # optional divs, in the book's documents (its chapters and the files they include)
    from publishing.cache import includes

    docs: dict[Path, None] = {}
    for rel in _chapter_paths(book.get("chapters")) + _chapter_paths(book.get("appendices")):
        for f in [root / rel, *includes(root / rel)]:
            if f.is_file():
                docs[Path(f).resolve()] = None
    for f in docs:
        rel = os.path.relpath(f, root.resolve())
        text = f.read_text(encoding="utf-8")
        if ".when" not in text:
            continue
        new, removed = filter_divs(text, lambda c, rel=rel: decide(c, rel), rel)
        if new != text:
            f.write_text(new, encoding="utf-8")
        for line, cond, body in removed:
            sel.divs.append(f"{rel}:{line} {{.when {cond}}}")
            for label in labels_defined(body):
                sel.removed.setdefault(
                    label, f"{rel}:{line}: div .when {cond} does not hold")
    # a label still defined elsewhere is not gone
    remaining = set()
    for rel in _chapter_paths(book.get("chapters")) + _chapter_paths(book.get("appendices")):
        remaining |= labels_defined(_expanded(root / rel))
    sel.removed = {k: v for k, v in sel.removed.items() if k not in remaining}
    if progress and (sel.chapters or sel.divs):
        progress(f"  optional parts left out for this trial: {len(sel.chapters)} chapter(s)"
                 + (f" ({', '.join(sel.chapters)})" if sel.chapters else "")
                 + f", {len(sel.divs)} section(s)")
    return sel


def dangling_references(root: Path, sel: Selection) -> list[str]:
    """``"<chapter>: @label ..."`` for every reference, in the book's chapters (includes
    expanded), to a label :func:`select` left out."""
    config = yaml.safe_load((root / "_quarto.yml").read_text(encoding="utf-8")) or {}
    book = config.get("book") or {}
    out = []
    for rel in _chapter_paths(book.get("chapters")) + _chapter_paths(book.get("appendices")):
        for label in sorted(references(_expanded(root / rel)) & set(sel.removed)):
            out.append(f"{rel}: @{label} refers to a part left out for this trial "
                       f"({sel.removed[label]})")
    return out


def missing_reference_error(lines: list[str]) -> TrialError:
    """The error for cross-references to labels that do not exist."""
    return TrialError("cross-reference(s) to a label that does not exist in this trial's "
                      "book:\n  " + "\n  ".join(lines) + "\nPut a reference to an optional "
                      "table, figure or section inside the same `.when` div (or chapter) as "
                      "the thing it refers to.")
