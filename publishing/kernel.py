"""Execute a chapter's cells in its own Jupyter kernel (nbclient + ipykernel).

The kernel starts in the chapter's folder, as under Quarto. Before the chapter's cells a hidden
setup cell configures matplotlib (PNG and SVG figures, default size 7 x 5 in) and warnings;
``fig-width``/``fig-height`` wrap their cell in hidden cells that set and restore the figure
size. Inline expressions are evaluated after the last cell, in the same kernel, and their
values are inserted as Quarto's Jupyter engine does (:func:`inline_markdown`): a value with a
``text/markdown`` representation (``IPython.display.Markdown``) as markdown, anything else as
its ``text/plain`` repr, a quoted string being unquoted and markdown-escaped, so a plain ``str``
is literal text under both engines.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from publishing import output
from publishing.qmd import INLINE, Document

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MARK = "__publishing_inline__"
#: prefix of the per-render folders holding kernel connection files and sockets
RUNTIME_PREFIX = "pubkernel-"

SETUP = """\
import warnings as _w
try:
    from IPython import get_ipython as _gi
    _gi().run_line_magic("matplotlib", "inline")
    import matplotlib.pyplot as _plt
    _plt.rcParams.update({{"figure.figsize": ({w}, {h}), "figure.dpi": {dpi},
                          "svg.hashsalt": "publishing", "svg.fonttype": "path"}})
    _gi().run_line_magic("config", "InlineBackend.print_figure_kwargs = "
                         "{{'bbox_inches': 'tight', 'metadata': {{'Date': None}}}}")
    _gi().run_line_magic("config", "InlineBackend.figure_formats = ['png', 'svg']")
except ImportError:
    pass
if {quiet}:
    _w.filterwarnings("ignore")


def _pub_flush():
    # A cell may switch matplotlib away from the inline backend (matplotlib.use("Agg")):
    # show its open figures anyway, then return to the inline backend.
    import sys
    if "matplotlib.pyplot" not in sys.modules:
        return
    plt = sys.modules["matplotlib.pyplot"]
    if "inline" in plt.get_backend():
        return
    import base64
    import io

    from IPython.display import display
    for n in plt.get_fignums():
        fig, png, svg = plt.figure(n), io.BytesIO(), io.StringIO()
        fig.savefig(png, format="png", bbox_inches="tight", metadata={{"Software": None}})
        fig.savefig(svg, format="svg", bbox_inches="tight", metadata={{"Date": None}})
        display({{"image/png": base64.b64encode(png.getvalue()).decode(),
                 "image/svg+xml": svg.getvalue(), "text/plain": repr(fig)}}, raw=True)
    plt.close("all")
    from IPython import get_ipython
    get_ipython().run_line_magic("matplotlib", "inline")
"""

INLINE_EVAL = """\
import json as _json, traceback as _tb
def _pub_fmt(v):
    # the MIME bundle Jupyter returns for a user expression (what Quarto receives)
    data, _ = get_ipython().display_formatter.format(v)
    return {{k: data[k] for k in ("text/markdown", "text/plain") if k in data}}
_pub_out = []
for _e in {exprs!r}:
    try:
        _pub_out.append({{"value": _pub_fmt(eval(_e))}})
    except Exception:
        _pub_out.append({{"error": _tb.format_exc()}})
print({mark!r} + _json.dumps(_pub_out))
"""
MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()>#+,\-.!])")  # JS class [+-.] spans "+,-."


def inline_markdown(data: dict) -> str:
    """The markdown Quarto inserts for an inline expression's MIME bundle ``data``.

    As quarto-cli's ``resolveUserExpressions`` (src/core/jupyter/jupyter-inline.ts):
    ``text/markdown`` verbatim; ``text/plain`` verbatim unless it is a quoted repr (a string),
    which is unquoted and escaped (backslashes doubled, then markdown punctuation escaped).
    """
    if "text/markdown" in data:
        return data["text/markdown"]
    s = data.get("text/plain", "")
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        return MD_SPECIAL.sub(r"\\\1", s[1:-1].replace("\\", "\\\\"))
    return s


class CellError(RuntimeError):
    """A cell (or inline expression) failed: carries chapter, label and traceback."""

    def __init__(self, chapter: str, label: str, traceback: str):
        self.chapter, self.label, self.traceback = chapter, label, traceback
        super().__init__(f"{chapter}: cell {label!r} failed\n{traceback}")


@dataclass
class Executed:
    """Outputs per code cell (same order as the document's code cells) and inline values."""

    outputs: list[list[dict]] = field(default_factory=list)
    inline: list[str] = field(default_factory=list)


def inline_expressions(doc: Document) -> list[str]:
    """Every inline ``{python}`` expression of the document's markdown, in order."""
    return [e for c in doc.cells if c.kind == "markdown" for e in INLINE.findall(c.source)]


def _label(cell, index: int) -> str:
    return cell.label or f"cell {index + 1} (unlabelled)"


def _notebook(doc: Document, defaults: dict):
    """The notebook to run for ``doc``: setup cell, its code cells (with figure-size and
    flush cells), the inline-expression cell; and each notebook cell's owner (the index among
    the doc's code cells, or None for engine cells)."""
    w, h = defaults.get("fig-width", 7), defaults.get("fig-height", 5)
    quiet = defaults.get("warning", True) is False
    cells = [nbformat.v4.new_code_cell(SETUP.format(w=w, h=h, dpi=defaults.get("fig-dpi", 150),
                                                    quiet=quiet))]
    owner: list[int | None] = [None]  # notebook cell -> index among the doc's code cells
    code = [c for c in doc.cells if c.kind == "code"]
    for i, c in enumerate(code):
        sized = "fig-width" in c.options or "fig-height" in c.options
        if sized:
            cw, ch = c.options.get("fig-width", w), c.options.get("fig-height", h)
            cells.append(nbformat.v4.new_code_cell(
                f"_plt.rcParams['figure.figsize'] = ({cw}, {ch})"))
            owner.append(None)
        cells.append(nbformat.v4.new_code_cell(c.source))
        owner.append(i)
        cells.append(nbformat.v4.new_code_cell("_pub_flush()"))
        owner.append(i)
        if sized:
            cells.append(nbformat.v4.new_code_cell(f"_plt.rcParams['figure.figsize'] = ({w}, {h})"))
            owner.append(None)
    cells.append(nbformat.v4.new_code_cell(INLINE_EVAL.format(exprs=inline_expressions(doc),
                                                              mark=MARK)))
    owner.append(None)
    return nbformat.v4.new_notebook(cells=cells), owner, code


@contextmanager
def runtime_dir():
    """A private folder for kernel connection files and IPC sockets, removed on exit.

    ``$TMPDIR/pubkernel-<pid>-XXXX``, marked as this process's
    (:func:`publishing.output.staging`); folders left by killed renders are removed by the
    next one. Nothing is written to ``$TMPDIR`` itself (jupyter_client's default is a
    ``tmp*.json`` connection file there per kernel).
    """
    with output.staging(RUNTIME_PREFIX) as folder:
        yield folder


async def execute_async(doc: Document, defaults: dict, *, kernel: str = "python3",
                        timeout: int = 600, name: str | None = None,
                        runtime: Path | None = None) -> Executed:
    """Run ``doc``'s code cells in a fresh kernel whose working directory is the doc's folder.

    ``defaults`` are the ``execute:`` options (``warning``, ``fig-width``, ``fig-height``,
    ``fig-dpi``). The kernel's connection file and sockets live in ``runtime`` (a private
    folder from :func:`runtime_dir`; one is made for this call when None). The kernel is shut
    down (killed: it holds nothing to save) as soon as its last cell has run. Raises
    :class:`CellError` on the first failing cell or inline expression.
    """
    if runtime is None:
        with runtime_dir() as folder:
            return await execute_async(doc, defaults, kernel=kernel, timeout=timeout,
                                       name=name, runtime=folder)
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    name = name or doc.path.name
    nb, owner, code = _notebook(doc, defaults)
    exprs = inline_expressions(doc)
    own = Path(tempfile.mkdtemp(prefix="k-", dir=runtime))
    # IPC sockets and the connection file in a private folder: local-only, no TCP ports.
    km = AsyncKernelManager(kernel_name=kernel, transport="ipc", ip=str(own / "k"),
                            connection_file=str(own / "kernel.json"))
    # log_level ERROR: the kernel's "Parent appears to have exited" notice at shutdown is
    # noise; cell errors still arrive as messages and stop the render.
    client = NotebookClient(nb, km=km, timeout=timeout, allow_errors=False,
                            shutdown_kernel="immediate",
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],
                            resources={"metadata": {"path": str(doc.path.parent)}})
    try:
        # cleanup_kc: shut the kernel down when done (nbclient keeps a kernel alive when it
        # was handed the manager, so each chapter's kernel lived on until the render ended).
        async with client.async_setup_kernel(cleanup_kc=True,
                                             env={**os.environ, "JUPYTER_RUNTIME_DIR": str(own)}):
            for k, cell in enumerate(nb.cells):
                try:
                    await client.async_execute_cell(cell, k)
                except CellExecutionError as err:
                    i = owner[k]
                    label = _label(code[i], i) if i is not None else "(engine setup)"
                    raise CellError(name, label, ANSI.sub("", str(err))) from None
    finally:
        shutil.rmtree(own, ignore_errors=True)

    result = Executed(outputs=[[] for _ in code])
    for k, cell in enumerate(nb.cells):
        if owner[k] is not None:
            result.outputs[owner[k]] += [dict(o) for o in cell.outputs]
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("name") == "stdout")
    values = json.loads(text[text.index(MARK) + len(MARK):])
    for expr, v in zip(exprs, values, strict=True):
        if "error" in v:
            raise CellError(name, f"inline `{{python}} {expr}`", ANSI.sub("", v["error"]))
        value = inline_markdown(v["value"])
        if not value.strip():  # Quarto keeps an empty inline expression as code
            raise CellError(name, f"inline `{{python}} {expr}`",
                            "the expression gives empty text, which Quarto would print as "
                            "code: give it a non-empty value (move the condition into it)")
        result.inline.append(value)
    return result


def execute(doc: Document, defaults: dict, *, kernel: str = "python3", timeout: int = 600,
            name: str | None = None, runtime: Path | None = None) -> Executed:
    """:func:`execute_async` for callers without an event loop."""
    return asyncio.run(execute_async(doc, defaults, kernel=kernel, timeout=timeout, name=name,
                                     runtime=runtime))


async def execute_many(jobs: list[tuple[Document, str]], defaults: dict, *,
                       workers: int | None = None, runtime: Path | None = None,
                       done=None) -> list[Executed]:
    """Run several documents, each in its own kernel, at most ``workers`` at a time (default
    :func:`os.cpu_count`). ``jobs`` are ``(doc, name)``; results come back in the order of
    ``jobs`` whatever the order of completion. ``done(index, seconds, run)`` is called as each one
    finishes (with its :class:`Executed`). The first failure cancels the others and is raised.
    """
    import time

    if runtime is None:
        with runtime_dir() as folder:
            return await execute_many(jobs, defaults, workers=workers, runtime=folder,
                                      done=done)
    gate = asyncio.Semaphore(max(1, workers or os.cpu_count() or 1))

    async def one(i: int, doc: Document, name: str) -> Executed:
        async with gate:
            t0 = time.perf_counter()
            run = await execute_async(doc, defaults, name=name, runtime=runtime)
            if done:
                done(i, time.perf_counter() - t0, run)
            return run

    tasks = [asyncio.ensure_future(one(i, d, n)) for i, (d, n) in enumerate(jobs)]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
