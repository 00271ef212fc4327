"""The built-in engine: Jupyter kernels run the cells, pandoc converts, Typst makes the PDF.

For each chapter of the book: parse the ``.qmd`` (:mod:`publishing.qmd`), execute it in its own
kernel (:mod:`publishing.kernel`), turn it into pandoc markdown (:mod:`publishing.assemble`) and
then into pandoc's AST, numbered (:mod:`publishing.pandoc_ast`). The chapters are joined into
one document, cross-references resolved, and pandoc writes it as HTML (one self-contained
file), Typst (compiled to PDF by the ``typst`` package) and DOCX, with citeproc.

Chapter kernels run in parallel, up to the core count; assembly and numbering are in book
order. A chapter whose inputs are unchanged is read from the build cache
(:mod:`publishing.cache`) instead of being executed.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from publishing import assemble, kernel, pandoc_ast, qmd
from publishing import cache as cachemod
from publishing.book import Book

#: a chapter's cached executed cells
EXECUTED = "executed.json"

CSS = """\
html { background: #fff; color: #1a1a1a; }
body { max-width: 54em; margin: 0 auto; padding: 3em 2em 4em;
  font-family: "Georgia", "DejaVu Serif", serif; font-size: 17px; line-height: 1.5; }
h1, h2, h3, h4, nav#TOC { font-family: "Helvetica Neue", "DejaVu Sans", Arial, sans-serif; }
h1 { margin-top: 2em; } h2 { margin-top: 1.6em; }
header#title-block-header { margin-bottom: 2em; }
nav#TOC { font-size: 0.9em; border: 1px solid #ddd; padding: 0.5em 1em; background: #fafafa; }
nav#TOC ul { list-style: none; padding-left: 1.2em; }
a { color: #1a5fb4; }
td, th { vertical-align: top; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { border-bottom: 1px solid #ccc; padding: 0.25em 0.6em; }
thead th { border-bottom: 2px solid #555; }
caption, figcaption { font-style: italic; text-align: left; margin: 0.4em 0; }
figure img { max-width: 100%; height: auto; }
.header-section-number { margin-right: 0.4em; }
h1.part { text-align: center; margin-top: 2em; color: #444; }
.callout { border-left: 4px solid #0758e5; background: #f3f7fe; padding: 0.3em 1em;
  margin: 1em 0; }
.callout-warning, .callout-caution { border-color: #ff9100; background: #fff8ef; }
.callout-important { border-color: #cc1914; background: #fdf3f3; }
.callout-tip { border-color: #00a047; background: #f1fbf5; }
.callout-title p { margin: 0.3em 0; }
"""

# Typst rules of every document. A book of several chapters adds CHAPTER_BREAKS; in a
# one-chapter document (the article) a level-1 heading is a section and follows on the page.
TYPST = """\
#set document(date: none)
#set figure(numbering: none)
#show figure: set block(breakable: true)
#show table.cell: set par(justify: false)
#show table: set text(size: 0.9em)
#show figure.caption: set block(sticky: true) // a caption stays on the page of its table
#show align: set par(justify: false) // centred text (the title) is not justified
"""


# A chapter starts a page, except the first chapter of a part: the part heading (label
# ``part-*``) starts the page and its first chapter follows on it (no page holding only the
# word "Results").
CHAPTER_BREAKS = """\
#let part-opened = state("part-opened", false)
#show heading.where(level: 1): it => {
  if it.has("label") and str(it.label).starts-with("part-") {
    pagebreak(weak: true)
    part-opened.update(true)
    align(center, block(above: 1em, below: 2em, text(size: 1.4em, it.body)))
  } else {
    context if not part-opened.get() { pagebreak(weak: true) }
    part-opened.update(false)
    it
  }
}
"""


def typst_rules(book: Book) -> str:
    """The Typst rules for ``book``: chapter page breaks only when it has several chapters."""
    several = len(book.chapters) > 1 or any(e.kind == "part" for e in book.entries)
    return TYPST + (CHAPTER_BREAKS if several else "")


def pandoc_path() -> str:
    import pypandoc

    return pypandoc.get_pandoc_path()


def versions() -> dict[str, str]:
    """Versions of the parts this engine uses."""
    from importlib.metadata import version

    import pypandoc

    return {"pandoc": pypandoc.get_pandoc_version(), "typst": version("typst"),
            "python": sys.version.split()[0], "nbclient": version("nbclient"),
            "ipykernel": version("ipykernel")}


def _pandoc(args: list[str], cwd: Path, stdin: str | None = None) -> str:
    proc = subprocess.run([pandoc_path(), *args], cwd=cwd, input=stdin, text=True,
                          capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"pandoc {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout


def to_ast(markdown: str, cwd: Path) -> dict:
    """Pandoc's JSON AST of a pandoc-markdown text."""
    return json.loads(_pandoc(["-f", "markdown", "-t", "json"], cwd, markdown))


def _header(level: int, text: str, ident: str, classes: list[str]) -> dict:
    inl = []
    for i, w in enumerate(text.split()):
        inl += ([pandoc_ast.Space()] if i else []) + [pandoc_ast.Str(w)]
    return {"t": "Header", "c": [level, [ident, classes, []], inl]}


def _has_citations(blocks) -> bool:
    found = []

    def fn(x):
        if x.get("t") == "Cite":
            found.append(x)
        return x

    pandoc_ast._walk_inlines(blocks, fn)
    return bool(found)


def _has_refs_div(blocks) -> bool:
    """Whether the document places its bibliography itself (a ``::: {#refs}`` div)."""
    return any(b.get("t") == "Div" and b["c"][0][0] == "refs" for b in blocks)


def _meta(book: Book, work: Path) -> dict:
    import yaml

    front = {"title": book.title, "author": book.authors, "lang": "en-GB"}
    for key in ("subtitle", "date", "abstract"):
        if book.book.get(key):
            front[key] = str(book.book[key])
    text = "---\n" + yaml.safe_dump(front, allow_unicode=True) + "---\n"
    return to_ast(text, work)


def _saved(run: kernel.Executed) -> bytes:
    return json.dumps({"outputs": run.outputs, "inline": run.inline}, sort_keys=True).encode()


def _loaded(entry: Path) -> kernel.Executed:
    data = json.loads((entry / EXECUTED).read_text(encoding="utf-8"))
    return kernel.Executed(outputs=data["outputs"], inline=data["inline"])


def execute_chapters(book: Book, progress=print, cache=None, inputs: str = "",
                     workers: int | None = None) -> tuple[list, list[kernel.Executed]]:
    """Parse every chapter and execute those not in ``cache``, each in its own kernel, up to
    ``workers`` (default: ``$REPORT_WORKERS``, else the core count) at a time. Returns
    ``(docs, runs)`` in book order, whatever the order in which the kernels finished."""
    chapters = book.chapters
    names = [str(e.path.relative_to(book.root)) for e in chapters]
    docs = [qmd.read(e.path) for e in chapters]
    runs: list[kernel.Executed | None] = [None] * len(chapters)
    keys: list[str] = [""] * len(chapters)
    if cache is not None:
        context = cachemod.project_digest(book.root, documents=False)
        for i, e in enumerate(chapters):
            keys[i] = cachemod.chapter_key(book.root, e.path, book.execute, inputs, context)
            entry = cache.get("chapter", keys[i])
            if entry is not None:
                try:
                    runs[i] = _loaded(entry)
                except (OSError, ValueError, KeyError):
                    runs[i] = None
                else:
                    progress(f"  [{i + 1}/{len(chapters)}] {names[i]} (reused)")
    todo = [i for i, r in enumerate(runs) if r is None]
    if todo:
        workers = workers or int(os.environ.get("REPORT_WORKERS") or 0) or os.cpu_count()
        n = max(1, min(workers or 1, len(todo)))
        progress(f"  executing {len(todo)} chapter(s), {n} kernel(s) at a time")

        def done(j: int, seconds: float, run: kernel.Executed) -> None:
            i = todo[j]
            progress(f"  [{i + 1}/{len(chapters)}] {names[i]} ({seconds:.1f} s)")
            if cache is not None:
                cache.put("chapter", keys[i], files={EXECUTED: _saved(run)})

        fresh = asyncio.run(kernel.execute_many([(docs[i], names[i]) for i in todo],
                                                book.execute, workers=n, done=done))
        for i, run in zip(todo, fresh, strict=True):
            runs[i] = run
    return docs, runs


def build_document(book: Book, work: Path, progress=print, cache=None, inputs: str = "",
                   workers: int | None = None) -> tuple[dict, pandoc_ast.Registry]:
    """Execute and number every chapter; the whole book as one pandoc JSON document.

    Chapters run in parallel (:func:`execute_chapters`); numbering and assembly then go in
    book order, so numbers and cross-references never depend on which kernel finished first.
    """
    docs, runs = execute_chapters(book, progress, cache, inputs, workers)
    registry = pandoc_ast.Registry()
    defaults = book.execute
    parts: list[tuple[str, list]] = []  # (chapter, its numbered blocks), in book order
    media = work / "media"
    index = iter(range(len(docs)))
    for entry in book.entries:
        if entry.kind == "part":
            slug = "part-" + "-".join(entry.title.lower().split())
            parts.append(("", [_header(1, entry.title, slug, ["part", "unnumbered"])]))
            continue
        i = next(index)
        doc, run = docs[i], runs[i]
        md = assemble.chapter_markdown(doc, run, defaults, media)
        if doc.meta.get("title") and not md.lstrip().startswith("# "):
            md = f"# {doc.meta['title']}\n\n{md}"
        ast = to_ast(md, work)
        chapter = pandoc_ast.callouts(ast["blocks"])
        name = str(entry.path.relative_to(book.root))
        parts.append((name, pandoc_ast.number_chapter(chapter, registry, entry.kind)))
    blocks: list = []
    for name, chapter in parts:  # every label is known: resolve, noting each chapter's misses
        before = len(registry.unresolved)
        blocks += pandoc_ast.resolve_refs(chapter, registry)
        registry.missing += [(name, label) for label in registry.unresolved[before:]]
    blocks = pandoc_ast.dedupe_ids(blocks)
    if _has_citations(blocks) and not _has_refs_div(blocks):
        blocks.append(_header(1, "References", "references", ["unnumbered"]))
        blocks.append(pandoc_ast.Div("refs", ["references"], []))
    meta = _meta(book, work)
    return {"pandoc-api-version": meta["pandoc-api-version"], "meta": meta["meta"],
            "blocks": blocks}, registry


def write_formats(book: Book, document: dict, work: Path, out_dir: Path,
                  assets: dict[str, Path]) -> list[Path]:
    """Write ``<name>.html``, ``.pdf`` and ``.docx`` of ``document`` into ``out_dir``."""
    import typst

    out_dir.mkdir(parents=True, exist_ok=True)
    common = ["-f", "json", "--citeproc"]
    for path in book.resources("bibliography"):
        common += ["--bibliography", str(path)]
    if book.resource("csl"):
        common += ["--csl", str(book.resource("csl"))]
    fmts = book.formats
    written = []

    def opts(fmt: str) -> list[str]:
        o = fmts.get(fmt) or {}
        return ["--toc"] if isinstance(o, dict) and o.get("toc") else []

    def source(fmt: str) -> str:
        doc = dict(document, blocks=pandoc_ast.for_format(document["blocks"], fmt))
        path = work / f"book.{fmt}.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        return str(path)

    css = work / "book.css"
    css.write_text(CSS, encoding="utf-8")
    html = out_dir / f"{book.name}.html"
    _pandoc([*common, source("html"), "-t", "html5", "-s", "--embed-resources", "--css",
             str(css), "--include-before-body", str(assets["html"]), "--section-divs",
             *opts("html"), "-o", str(html)], work)
    written.append(html)

    head = work / "book-head.typ"
    head.write_text(assets["typst"].read_text(encoding="utf-8") + typst_rules(book),
                    encoding="utf-8")
    typ = work / "book.typ"
    paper = ((fmts.get("typst") or {}) if isinstance(fmts.get("typst"), dict) else {}).get(
        "papersize", "a4")
    _pandoc([*common, source("typst"), "-t", "typst", "-s", "-H", str(head), "-V",
             f"papersize={paper}", "-V", "page-numbering=1", *opts("typst"), "-o", str(typ)],
            work)
    pdf = out_dir / f"{book.name}.pdf"
    try:
        typst.compile(str(typ), output=str(pdf), root=str(work), timestamp=0)
    except Exception as err:  # typst raises its own error type
        raise RuntimeError(f"typst failed on {typ}:\n{err}") from err
    written.append(pdf)

    docx = out_dir / f"{book.name}.docx"
    _pandoc([*common, source("docx"), "-t", "docx", "--reference-doc", str(assets["docx"]),
             *opts("docx"), "-o", str(docx)], work)
    written.append(docx)
    return written


def missing_references(missing: list[tuple[str, str]], removed: dict | None = None):
    """The error for cross-references to labels no chapter defines: each chapter and label,
    and why the label is gone when an optional part took it (``removed``: label -> why)."""
    from publishing.trial import missing_reference_error

    removed = removed or {}
    lines = []
    for chapter, label in dict.fromkeys(missing):
        why = removed.get(label)
        lines.append(f"{chapter}: @{label}" + (f" refers to a part left out for this trial "
                                               f"({why})" if why else " (no such label)"))
    return missing_reference_error(lines)


def render(book: Book, out_dir: Path, work: Path, assets: dict[str, Path],
           progress=print, cache=None, inputs: str = "",
           workers: int | None = None, removed: dict | None = None) -> list[Path]:
    """Render ``book`` into ``out_dir`` (``work``: a scratch folder); returns the files.

    With a :class:`publishing.cache.Cache`, a chapter whose key (its source, includes,
    ``inputs`` key and the project's code) is unchanged is not executed again. A
    cross-reference to a label that no chapter defines fails the render, naming the chapter
    and the label (``removed``: labels the trial's optional parts left out, and why).
    """
    work.mkdir(parents=True, exist_ok=True)
    document, registry = build_document(book, work, progress, cache, inputs, workers)
    if registry.missing:
        raise missing_references(registry.missing, removed)
    progress("  writing HTML, PDF (Typst) and DOCX")
    return write_formats(book, document, work, out_dir, assets)
