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

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from publishing.qmd import INLINE, Document

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MARK = "__publishing_inline__"

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


def execute(doc: Document, defaults: dict, *, kernel: str = "python3", timeout: int = 600,
            name: str | None = None) -> Executed:
    """Run ``doc``'s code cells in a fresh kernel whose working directory is the doc's folder.

    ``defaults`` are the ``execute:`` options (``warning``, ``fig-width``, ``fig-height``,
    ``fig-dpi``). Raises :class:`CellError` on the first failing cell or inline expression.
    """
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    name = name or doc.path.name
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
    exprs = inline_expressions(doc)
    cells.append(nbformat.v4.new_code_cell(INLINE_EVAL.format(exprs=exprs, mark=MARK)))
    owner.append(None)

    nb = nbformat.v4.new_notebook(cells=cells)
    with tempfile.TemporaryDirectory(prefix="pubkernel-") as sock:
        # IPC sockets in a private folder: local-only, no TCP ports, no warning.
        km = AsyncKernelManager(kernel_name=kernel, transport="ipc", ip=str(Path(sock) / "k"))
        # log_level ERROR: the kernel's "Parent appears to have exited" notice at shutdown is
        # noise; cell errors still arrive as messages and stop the render.
        client = NotebookClient(nb, km=km, timeout=timeout, allow_errors=False,
                                extra_arguments=["--IPKernelApp.log_level=ERROR"],
                                resources={"metadata": {"path": str(doc.path.parent)}})
        with client.setup_kernel():
            for k, cell in enumerate(nb.cells):
                try:
                    client.execute_cell(cell, k)
                except CellExecutionError as err:
                    i = owner[k]
                    label = _label(code[i], i) if i is not None else "(engine setup)"
                    raise CellError(name, label, ANSI.sub("", str(err))) from None

    result = Executed(outputs=[[] for _ in code])
    for k, cell in enumerate(nb.cells):
        if owner[k] is not None:
            result.outputs[owner[k]] += [dict(o) for o in cell.outputs]
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("name") == "stdout")
    values = json.loads(text[text.index(MARK) + len(MARK):])
    for expr, v in zip(exprs, values, strict=True):
        if "error" in v:
            raise CellError(name, f"inline `{{python}} {expr}`", ANSI.sub("", v["error"]))
        result.inline.append(inline_markdown(v["value"]))
    return result
