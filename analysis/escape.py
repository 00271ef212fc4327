"""Data are text, never markup: the one escaping layer between data strings and a report.

Two kinds of strings reach a report. *Authored* markup (a chapter's prose, a family's sentence
template, the bold of a row label) is a :class:`Markdown`. Everything else (an adverse-event
term, a reason, an arm label, a dataset name: any value that comes from the data folder) is
plain ``str`` and is *text*: wherever it enters a report it is escaped for that format.

- Pandoc's Markdown, as read by both engines (:func:`escape_markdown`): every ASCII punctuation
  character but the apostrophe is backslash-escaped (pandoc's ``all_symbols_escapable``), so
  emphasis, links, raw HTML, entities, math (``$``), citations and cross-references (``@``),
  raw attributes (```...`{=typst}``), pipe-table cells (``|``), sub/superscripts, double
  quotes, dashes and ellipses are literal; line breaks and tabs become spaces, other control
  characters U+FFFD. The apostrophe is left to pandoc's typography (``'`` prints as ’, as in
  authored prose): it is never markup. Pandoc's writers then escape the text for HTML, Typst
  (``#``, ``\\``) and DOCX themselves.
- Files written directly in a target format, the page marks of :mod:`publishing.notice`:
  :func:`escape_html`, :func:`typst_string` (a Typst string literal: never code) and
  :func:`docx_text` (XML-safe characters).

Forgetting is made hard by the types, as in ``markupsafe`` (whose ``Markup`` escapes for HTML
only, so it cannot be reused for Markdown): a plain ``str`` given to a display
(:func:`analysis.displays.display.markdown_table`,
:func:`~analysis.displays.display.show_markdown`, an inline
``{python}`` value once :func:`install_ipython_text` has run) is escaped; only a
:class:`Markdown` passes as markup, and combining a :class:`Markdown` with plain text
(``format``, ``join``, ``+``) escapes the text::

    Markdown("**{}** (n = {})").format(term, 3)
"""

from __future__ import annotations

import math
import re
import string

#: Every ASCII punctuation character but the apostrophe (pandoc escapes all with a backslash).
_PUNCTUATION = re.compile(r"([!-&(-/:-@\[-`{-~])")
_BREAKS = re.compile(r"[\t\n\r\v\f\x85\u2028\u2029]")
#: Characters XML 1.0 (DOCX, XLSX, HTML) cannot hold, and the other C0/C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")


class Markdown(str):
    """Authored pandoc Markdown; plain text combined with it is escaped.

    >>> Markdown("**{}** (n = {})").format("*x*", 3)
    Markdown('**\\\\*x\\\\*** (n = 3)')
    >>> Markdown(", ").join(["a_b", Markdown("*c*")])
    Markdown('a\\\\_b, *c*')
    """

    __slots__ = ()

    def __add__(self, other) -> Markdown:
        return Markdown(str.__add__(self, to_markdown(other)))

    def __radd__(self, other) -> Markdown:
        return Markdown(str.__add__(to_markdown(other), self))

    def format(self, *args, **kwargs) -> Markdown:  # noqa: D102 (str.format, escaping)
        return Markdown(_EscapingFormatter().vformat(self, args, kwargs))

    def join(self, items) -> Markdown:  # noqa: D102 (str.join, escaping)
        return Markdown(str.join(self, [to_markdown(i) for i in items]))

    def __mod__(self, other):
        raise TypeError("use Markdown.format(), which escapes its arguments")

    def __repr__(self) -> str:
        return f"Markdown({str.__repr__(self)})"

    def _repr_markdown_(self) -> str:
        """Jupyter inserts it as markdown (inline ``{python}`` values and cell outputs)."""
        return str(self)


class _EscapingFormatter(string.Formatter):
    def format_field(self, value, format_spec):
        if isinstance(value, Markdown):
            return str(value) if not format_spec else format(str(value), format_spec)
        return escape_markdown(format(value, format_spec))


def plain_text(value) -> str:
    """``value`` as one line of printable text: ``""`` for None/NaN, breaks and tabs as spaces,
    other control characters as U+FFFD."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return ""
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    return _CONTROL.sub("\ufffd", _BREAKS.sub(" ", str(value)))


def escape_markdown(value) -> Markdown:
    """``value`` as literal text in pandoc Markdown (see the module docstring).

    >>> print(escape_markdown("<b>**x**</b> $1 @ref a|b"))
    \\<b\\>\\*\\*x\\*\\*\\<\\/b\\> \\$1 \\@ref a\\|b
    """
    return Markdown(_PUNCTUATION.sub(r"\\\1", plain_text(value)))


def to_markdown(value) -> Markdown:
    """A :class:`Markdown` as it is; anything else escaped as text."""
    return value if isinstance(value, Markdown) else escape_markdown(value)


def code_span(value) -> Markdown:
    """``value`` as an inline code span (literal text in a monospace font).

    Inside a code span backslashes do not escape, so the fence is one backtick longer than
    the longest run of backticks in the text, and padded with a space when the text starts or
    ends with one (pandoc strips a single padding space).

    >>> print(code_span("a`b"), code_span("x"))
    `` a`b `` `x`
    """
    text = plain_text(value)
    runs = [len(r) for r in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or runs else ""
    return Markdown(f"{fence}{pad}{text}{pad}{fence}")


def escape_html(value) -> str:
    """``value`` as HTML text (``&<>"'`` as entities; control characters replaced)."""
    import html

    return html.escape(plain_text(value), quote=True)


def typst_string(value) -> str:
    """``value`` as a Typst string literal, quotes included: text, never code or markup.

    >>> print(typst_string('a "b" \\\\ #set page(width: 1cm)'))
    "a \\"b\\" \\\\ #set page(width: 1cm)"
    """
    text = plain_text(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def docx_text(value) -> str:
    """``value`` as the text of a DOCX run (XML-safe: control characters replaced)."""
    return plain_text(value)


def install_ipython_text() -> bool:
    """Make Jupyter insert a plain ``str`` as fully escaped text (and a :class:`Markdown` as
    markup) wherever it displays a value as markdown: inline ``{python}`` values and cell
    results, under Quarto and the built-in engine alike.

    Both engines insert a value's ``text/markdown`` representation when it has one; without
    it, Quarto escapes a string's ``text/plain`` repr only partly (not ``<``, ``$``, ``@``,
    ``|``, ``~``, ``^``, and it doubles backslashes twice, quarto-cli #11291). Returns False
    outside IPython (nothing to do).
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the kernel
        return False
    shell = get_ipython()
    if shell is None:
        return False
    md = shell.display_formatter.formatters["text/markdown"]
    md.for_type(str, lambda s: str(escape_markdown(s)))
    md.for_type(Markdown, str)
    return True
