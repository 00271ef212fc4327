"""The Quarto engine: ``quarto render`` on a staged copy of the project.

The staged ``_quarto.yml`` gets the per-render page marks (HTML ``include-before-body``,
Typst ``include-in-header``, DOCX ``reference-doc``) and the settings a book needs to render
offline under Quarto 1.10 (:func:`stage_config`); ``QUARTO_PYTHON`` points at this Python (the
project's venv) so Quarto's Jupyter kernels see the same packages. After the render, the HTML
is checked for anything it would fetch from the network (:func:`offline_problems`).

Supported Quarto: :data:`SUPPORTED` (tested with :data:`TESTED`); an older Quarto is not used
by ``--engine auto`` and refused by ``--engine quarto``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

# Typst output for book projects arrived in Quarto 1.9 (quarto-cli PR #13950), but the oldest
# release this project was rendered and tested with is 1.10.18 (the offline build in
# ../shared/quarto); older Quarto falls back to the built-in engine.
MINIMUM = (1, 10)
TESTED = "1.10.18"
SUPPORTED = f">= {'.'.join(map(str, MINIMUM))}"

# Options of the ``html`` format that break a book under Quarto 1.10: with ``embed-resources``
# Quarto deletes the chapters' figure folders before it compiles the Typst PDF.
DROPPED_HTML_OPTIONS = ("embed-resources", "self-contained")
# Math in HTML without a CDN (MathJax and KaTeX load from one): the browser's own MathML.
OFFLINE_MATH = "mathml"


def find() -> str | None:
    """The ``quarto`` executable on PATH, or None."""
    return shutil.which("quarto")


def version(exe: str) -> tuple[int, ...]:
    """Quarto's version as a tuple, e.g. ``(1, 5, 57)``."""
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout
    m = re.search(r"(\d+(?:\.\d+)+)", out)
    if not m:
        raise RuntimeError(f"cannot read quarto's version from {out!r}")
    return tuple(int(x) for x in m.group(1).split("."))


def found() -> tuple[str, tuple[int, ...]] | None:
    """``(path, version)`` of the ``quarto`` on PATH, whatever its version; None when there is
    none or its version cannot be read."""
    exe = find()
    if not exe:
        return None
    try:
        return exe, version(exe)
    except (OSError, subprocess.CalledProcessError, RuntimeError):
        return None


def supported(v: tuple[int, ...]) -> bool:
    """True for a Quarto version in :data:`SUPPORTED`.

    >>> supported((1, 10, 18)), supported((1, 11)), supported((1, 9, 36)), supported((2, 0))
    (True, True, False, True)
    """
    return tuple(v[:2]) >= MINIMUM


def usable() -> tuple[str, tuple[int, ...]] | None:
    """``(path, version)`` of a Quarto >= :data:`MINIMUM` on PATH, else None."""
    hit = found()
    return hit if hit and supported(hit[1]) else None


def too_old(exe: str, v: tuple[int, ...]) -> str:
    """The one line that says why the Quarto at ``exe`` is not used."""
    return (f"Quarto {'.'.join(map(str, v))} at {exe} is older than "
            f"{'.'.join(map(str, MINIMUM))} (supported: Quarto {SUPPORTED}, tested with "
            f"{TESTED})")


def bundled_versions(exe: str) -> dict[str, str]:
    """Versions of the pandoc and typst that Quarto bundles (best effort)."""
    out = {}
    for tool in ("pandoc", "typst"):
        try:
            text = subprocess.run([exe, tool, "--version"], capture_output=True, text=True,
                                  timeout=60).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        m = re.search(r"(\d+(?:\.\d+)+)", text)
        if m:
            out[tool] = m.group(1)
    return out


def _add(fmt: dict, key: str, value: str) -> None:
    old = fmt.get(key)
    fmt[key] = ([*old] if isinstance(old, list) else [old] if old else []) + [value]


# As the built-in engine's Typst rules: a long table continues on the next page instead of
# running off it, its caption stays with it, table cells are not justified and their text is
# a little smaller (values do not wrap, so wide tables need the room).
TYPST_LAYOUT = """\
#show figure: set block(breakable: true)
#show figure.caption: set block(sticky: true)
#show table.cell: set par(justify: false)
#show table: set text(size: 0.9em)
"""


EXTENSIONS = {"html": "html", "typst": "pdf", "docx": "docx"}


def single_document(config: dict) -> dict:
    """A book of one chapter (the article) as a one-document project: Quarto then renders
    it as an article (no chapter numbers in "Table 5.1", no table of contents or chapter
    pages in the Typst PDF), as the built-in engine does. The book's title, subtitle, author
    and date become the document's; its ``output-file`` names each format's file."""
    book = config.get("book") or {}
    project = config.get("project") or {}
    chapters = book.get("chapters") or []
    if project.get("type") != "book" or len(chapters) != 1 or book.get("appendices") \
            or not isinstance(chapters[0], str):
        return config
    new = {k: v for k, v in config.items() if k != "book"}
    new["project"] = {**project, "type": "default", "render": [chapters[0]]}
    for key in ("title", "subtitle", "author", "date", "abstract"):
        if key in book:
            new.setdefault(key, book[key])
    formats = new.get("format") or {}
    if book.get("output-file") and isinstance(formats, dict):
        formats = {f: (dict(o) if isinstance(o, dict) else {}) for f, o in formats.items()}
        for f, opts in formats.items():
            if f in EXTENSIONS:
                opts.setdefault("output-file", f"{book['output-file']}.{EXTENSIONS[f]}")
        new["format"] = formats
    return new


def stage_config(project: Path, assets: dict[str, Path], progress=None) -> dict:
    """Rewrite ``project/_quarto.yml`` with the page marks, the Typst layout rules
    (:data:`TYPST_LAYOUT`) and the offline HTML settings; returns the new config.

    In the ``html`` format, :data:`DROPPED_HTML_OPTIONS` are removed (said through
    ``progress``) and ``html-math-method`` defaults to :data:`OFFLINE_MATH`.
    """
    path = project / "_quarto.yml"
    config = single_document(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    formats = config.get("format") or {}
    if not isinstance(formats, dict):  # ``format: html`` (one format by name)
        formats = {str(formats): {}}
    config["format"] = formats
    # Only the formats the book declares: adding one would make Quarto render it too
    # (the supplement declares Typst and DOCX only). ``html: default`` becomes a mapping.
    for name in ("html", "typst", "docx"):
        if name in formats and not isinstance(formats[name], dict):
            formats[name] = {}
    if "html" in formats:
        html = formats["html"]
        for key in DROPPED_HTML_OPTIONS:
            if html.pop(key, None) is not None and progress:
                progress(f"  html: {key} ignored (Quarto deletes the chapters' figures "
                         "before the Typst PDF is compiled); the HTML site keeps its files "
                         "locally instead")
        html.setdefault("html-math-method", OFFLINE_MATH)
        if assets["html"].read_text(encoding="utf-8").strip():
            _add(html, "include-before-body", str(assets["html"]))
    if "typst" in formats:
        if assets["typst"].read_text(encoding="utf-8").strip():
            _add(formats["typst"], "include-in-header", str(assets["typst"]))
        layout = project / "_typst-layout.typ"
        layout.write_text(TYPST_LAYOUT, encoding="utf-8")
        _add(formats["typst"], "include-in-header", str(layout))
    if "docx" in formats:
        formats["docx"]["reference-doc"] = str(assets["docx"])
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return config


# The loaders Quarto puts in the head of a page with any ``text/html`` cell output (for
# JavaScript widgets such as plotly or itables), fetched from a CDN: require.js, jQuery and
# the ``define('jquery')`` shim. Plain HTML output (a pandas table) works without them.
_WIDGET_LOADERS = re.compile(
    r'[ \t]*<script src="https://cdn\.jsdelivr\.net/npm/(?:requirejs|jquery)@[^"]*"[^>]*>'
    r'</script>\n?'
    r'|[ \t]*<script type="application/javascript">define\(\'jquery\', \[\],\s*'
    r'function\(\) \{return window\.jQuery;\}\)</script>\n?')

# What a browser fetches by itself: ``src`` of scripts, images, frames and media, ``href``
# of ``<link>`` (style sheets, fonts, icons) and ``url(...)``/``@import`` in CSS, when the
# address is remote (``http://``, ``https://`` or ``//host``). Hyperlinks (``<a href>``) are
# not fetched and are allowed.
_REMOTE = re.compile(
    r'<(?:script|img|iframe|source|audio|video|embed|input)\b[^>]*?\ssrc=["\']'
    r'((?:https?:)?//[^"\']+)'
    r'|<link\b[^>]*?\shref=["\']((?:https?:)?//[^"\']+)'
    r'|url\(\s*["\']?((?:https?:)?//[^"\')\s]+)'
    r'|@import\s+["\']((?:https?:)?//[^"\']+)', re.IGNORECASE)


def strip_widget_loaders(text: str) -> tuple[str, int]:
    """``text`` without Quarto's CDN widget loaders (:data:`_WIDGET_LOADERS`); and how many.

    >>> page = ('<head>\\n<script src="https://cdn.jsdelivr.net/npm/requirejs@2.3.6/'
    ...         'require.min.js" crossorigin="anonymous"></script>\\n</head>')
    >>> strip_widget_loaders(page)
    ('<head>\\n</head>', 1)
    """
    return _WIDGET_LOADERS.subn("", text)


def remote_resources(text: str) -> list[str]:
    """The remote addresses an HTML page or style sheet would fetch (:data:`_REMOTE`).

    >>> remote_resources('<a href="https://doi.org/x">doi</a><img src="fig.png">')
    []
    >>> remote_resources('<script src="https://cdn.example/polyfill.js"></script>'
    ...                  '<style>@import "//fonts.example/a.css";</style>')
    ['https://cdn.example/polyfill.js', '//fonts.example/a.css']
    """
    return [next(g for g in m.groups() if g) for m in _REMOTE.finditer(text)]


def make_offline(folder: Path) -> list[str]:
    """Remove Quarto's widget loaders from every HTML page under ``folder``; return what any
    page or style sheet would still fetch, as ``"<file>: <address>"`` lines."""
    problems = []
    for page in sorted(folder.rglob("*.html")):
        text, n = strip_widget_loaders(page.read_text(encoding="utf-8"))
        if n:
            page.write_text(text, encoding="utf-8")
    for f in sorted([*folder.rglob("*.html"), *folder.rglob("*.css")]):
        for url in remote_resources(f.read_text(encoding="utf-8", errors="replace")):
            problems.append(f"{f.relative_to(folder)}: {url}")
    return problems


def _write_config(project: Path, config: dict) -> None:
    (project / "_quarto.yml").write_text(
        yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _notebook_entry(project: Path, item):
    """A ``book:`` chapter entry pointing at the executed notebook Quarto kept for it (the
    ``.qmd`` is removed so the book finds one input per chapter), or the entry unchanged."""
    if isinstance(item, dict):
        item = dict(item)
        for key in ("part", "href"):
            if isinstance(item.get(key), str):
                item[key] = _notebook_entry(project, item[key])
        if isinstance(item.get("chapters"), list):
            item["chapters"] = [_notebook_entry(project, x) for x in item["chapters"]]
        return item
    if not isinstance(item, str) or not item.endswith(".qmd"):
        return item
    source = project / item
    kept = source.with_suffix(".quarto_ipynb")
    if not kept.is_file():  # no code cells: nothing was executed
        return item
    kept.rename(source.with_suffix(".ipynb"))
    source.unlink()
    return item[: -len(".qmd")] + ".ipynb"


def use_executed_notebooks(project: Path, config: dict) -> dict:
    """The book's config with every executed chapter replaced by its executed notebook.

    With ``keep-ipynb: true``, Quarto keeps the notebook it executed for each chapter
    (``<chapter>.quarto_ipynb``: cell outputs, and inline values in the markdown cells'
    ``user_expressions``). Quarto renders an ``.ipynb`` from its stored outputs without
    executing it, so the other formats reuse that one execution.
    """
    book = dict(config.get("book") or {})
    for key in ("chapters", "appendices"):
        if isinstance(book.get(key), list):
            book[key] = [_notebook_entry(project, x) for x in book[key]]
    new = {k: v for k, v in config.items() if k != "keep-ipynb"}
    if "book" in config:
        new["book"] = book
    proj = config.get("project") or {}
    if isinstance(proj.get("render"), list):  # a one-document project (single_document)
        new["project"] = {**proj, "render": [_notebook_entry(project, x)
                                             for x in proj["render"]]}
    return new


def prefer_png(notebook: Path) -> int:
    """Drop the SVG of every output that also has a PNG, in an executed notebook; returns
    how many. For DOCX: Quarto takes the SVG when there is one, and pandoc needs
    ``rsvg-convert`` (not bundled) to add the PNG fallback older Word needs; the built-in
    engine puts the PNG in the DOCX too."""
    import json

    nb = json.loads(notebook.read_text(encoding="utf-8"))
    dropped = 0
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            data = out.get("data") or {}
            if "image/png" in data and data.pop("image/svg+xml", None) is not None:
                dropped += 1
    if dropped:
        notebook.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return dropped


def _merge_move(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst``, merging into an existing folder; a file replaces a file."""
    if src.is_dir() and dst.is_dir():
        for child in sorted(src.iterdir()):
            _merge_move(child, dst / child.name)
        src.rmdir()
        return
    if dst.exists():
        shutil.rmtree(dst) if dst.is_dir() else dst.unlink()
    shutil.move(str(src), dst)


def _run(exe: str, project: Path, to: str | None, progress) -> None:
    cmd = [exe, "render", str(project)] + (["--to", to] if to else [])
    progress("  " + " ".join(cmd))
    proc = subprocess.run(cmd, cwd=project, env=dict(os.environ, QUARTO_PYTHON=sys.executable))
    if proc.returncode != 0:
        raise RuntimeError(f"quarto render failed (exit {proc.returncode})"
                           + (f" for the {to} format" if to else ""))


def _collect(produced: Path, out_dir: Path) -> list[Path]:
    """Check the pass's HTML is offline, then move its outputs into ``out_dir``."""
    problems = make_offline(produced)
    if problems:
        raise RuntimeError("the HTML would fetch from the network (the report must work "
                           "offline):\n  " + "\n  ".join(problems))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for item in sorted(produced.iterdir()):
        _merge_move(item, out_dir / item.name)
        written.append(out_dir / item.name)
    return written


# Quarto 1.10 marks a reference it cannot resolve ``<span class="quarto-unresolved-ref">?fig-x
# </span>`` (older releases printed ``?@fig-x``).
_UNRESOLVED = re.compile(r'quarto-unresolved-ref[^>]*>\s*\?@?((?:fig|tbl|sec)-[\w:-]*\w)'
                         r'|\?@((?:fig|tbl|sec)-[\w:-]*\w)')


def unresolved_references(folder: Path, sources: dict | None = None) -> list[tuple[str, str]]:
    """``(chapter, label)`` of every cross-reference Quarto could not resolve in the HTML
    pages under ``folder`` (:data:`_UNRESOLVED`); the chapter is the page's source name
    (``chapters/x.qmd``), or ``sources[page]`` for a page named otherwise (a one-document
    project's ``output-file``).

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "index.html").write_text('<p>See <span class="quarto-unresolved-ref">'
    ...                                   '?fig-nowhere</span>.</p>')
    >>> unresolved_references(d)
    [('index.qmd', 'fig-nowhere')]
    """
    out = []
    for page in sorted(folder.rglob("*.html")):
        text = page.read_text(encoding="utf-8", errors="replace")
        for label in dict.fromkeys(a or b for a, b in _UNRESOLVED.findall(text)):
            rel = page.relative_to(folder).as_posix()
            out.append(((sources or {}).get(rel) or Path(rel).with_suffix(".qmd").as_posix(),
                        label))
    return out


def execute_once_default() -> bool:
    """Whether a render executes each chapter once (default) or once per format, as Quarto
    does by itself (``REPORT_QUARTO_EXECUTE_ONCE=0``, to measure the difference)."""
    return os.environ.get("REPORT_QUARTO_EXECUTE_ONCE", "1") != "0"


def _page_sources(config: dict) -> dict[str, str]:
    """``{html page: source}`` of a one-document project whose HTML has its own name."""
    render_list = (config.get("project") or {}).get("render") or []
    html = (config.get("format") or {}).get("html")
    name = html.get("output-file") if isinstance(html, dict) else None
    return {name: render_list[0]} if name and len(render_list) == 1 else {}


def _check_references(produced: Path, removed: dict | None, config: dict | None = None) -> None:
    missing = unresolved_references(produced, _page_sources(config or {}))
    if missing:
        from publishing.builtin import missing_references

        raise missing_references(missing, removed)


def render(exe: str, project: Path, out_dir: Path, assets: dict[str, Path],
           progress=print, execute_once: bool | None = None,
           removed: dict | None = None) -> list[Path]:
    """Run Quarto on the staged ``project``; move its output into ``out_dir``.

    By itself Quarto executes every chapter once per format. With ``execute_once`` (default:
    :func:`execute_once_default`), the first declared format is rendered with
    ``keep-ipynb: true``, then each other format is rendered, one ``quarto render --to`` each,
    from the executed notebooks (:func:`use_executed_notebooks`). One ``--to`` per format:
    rendered together, Quarto removed the DOCX's figures with the Typst ones. The DOCX gets
    the PNG of figures that have one (:func:`prefer_png`). A cross-reference Quarto could
    not resolve (``?@label`` in a page) fails the render, naming the page and the label
    (``removed``: labels the trial's optional parts left out, and why).
    """
    config = stage_config(project, assets, progress)
    if execute_once is None:
        execute_once = execute_once_default()
    produced = project / str((config.get("project") or {}).get("output-dir", "_book"))
    formats = list(config["format"])
    if not execute_once or len(formats) < 2:
        _run(exe, project, None, progress)
        _check_references(produced, removed, config)
        return _collect(produced, out_dir)
    _write_config(project, {**config, "keep-ipynb": True})
    _run(exe, project, formats[0], progress)
    _check_references(produced, removed, config)
    written = _collect(produced, out_dir)
    _write_config(project, use_executed_notebooks(project, config))
    for fmt in formats[1:]:
        if fmt == "docx":
            for notebook in sorted(project.rglob("*.ipynb")):
                prefer_png(notebook)
        _run(exe, project, fmt, progress)
        written += [p for p in _collect(produced, out_dir) if p not in written]
    return written
