"""Turn an executed chapter into pandoc markdown.

Code cells become (by their options) echoed code, outputs, and float wrappers that
:mod:`publishing.crossref` numbers: a cell labelled ``fig-*`` becomes
``::: {#fig-x .pub-float}`` holding a ``.pub-caption`` div and the images; ``tbl-*`` the same
around the table. Images are written to ``media/``; markdown outputs are inserted as they are,
HTML outputs (e.g. a DataFrame) are converted to markdown tables by pandoc.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

from publishing.kernel import Executed
from publishing.qmd import INLINE, Document

CAPTIONED = {"fig-": "fig-cap", "tbl-": "tbl-cap"}


def _truthy(v) -> bool:
    return v not in (False, "false", "False", 0)


def _fence(text: str, lang: str = "") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{lang}\n{text.rstrip(chr(10))}\n{ticks}"


def html_to_markdown(html: str) -> str:
    """An HTML fragment (e.g. a pandas table) as pandoc markdown."""
    import pypandoc

    html = re.sub(r"<style.*?</style>", "", html, flags=re.DOTALL | re.IGNORECASE)
    target = "markdown-raw_html-native_divs-native_spans-fenced_divs"
    return pypandoc.convert_text(html, target, format="html", extra_args=["--wrap=none"])


def _alt(opts: dict) -> str:
    """`` alt="…"`` for an image: the cell's ``fig-alt``, else its ``fig-cap`` as plain text."""
    text = str(opts.get("fig-alt") or opts.get("fig-cap") or "")
    text = " ".join(re.sub(r"[*_`]", "", text).split())
    return f' alt="{text.replace(chr(92), "").replace(chr(34), "&quot;")}"' if text else ""


def _outputs(outputs: list[dict], opts: dict, media: Path, stem: str) -> list[str]:
    parts: list[str] = []
    asis = opts.get("output") == "asis"
    n_img = 0
    for o in outputs:
        kind = o.get("output_type")
        if kind == "stream":
            if o.get("name") == "stderr" and not _truthy(opts.get("warning", True)):
                continue
            parts.append(o["text"] if asis else _fence(o["text"]))
        elif kind in ("display_data", "execute_result"):
            data = o.get("data", {})
            if "text/markdown" in data:
                parts.append(data["text/markdown"])
            elif "image/png" in data or "image/svg+xml" in data:
                n_img += 1
                base = media / f"{stem}-{n_img}"
                media.mkdir(parents=True, exist_ok=True)
                src = None
                if "image/png" in data:
                    base.with_suffix(".png").write_bytes(base64.b64decode(data["image/png"]))
                    src = base.with_suffix(".png")
                if "image/svg+xml" in data:
                    base.with_suffix(".svg").write_text(data["image/svg+xml"], encoding="utf-8")
                    src = src or base.with_suffix(".svg")
                svg = " .pub-svg" if {"image/png", "image/svg+xml"} <= set(data) else ""
                parts.append(f"![]({media.name}/{src.name}){{.pub-image{svg}{_alt(opts)}}}")
            elif "text/html" in data:
                parts.append(html_to_markdown(data["text/html"]))
            elif "text/plain" in data:
                parts.append(data["text/plain"] if asis else _fence(data["text/plain"]))
    return parts


def _code_cell(cell, outputs, defaults: dict, media: Path, stem: str) -> str:
    opts = {**defaults, **cell.options}
    if not _truthy(opts.get("include", True)):
        return ""
    parts: list[str] = []
    if _truthy(opts.get("echo", False)):
        parts.append(_fence(cell.source, "python"))
    if _truthy(opts.get("output", True)):
        parts.extend(_outputs(outputs, opts, media, stem))
    label = cell.label
    kind = next((k for k in CAPTIONED if label.startswith(k)), None)
    cap = opts.get(CAPTIONED[kind]) if kind else opts.get("fig-cap") or opts.get("tbl-cap")
    body = "\n\n".join(p.strip("\n") for p in parts if p.strip())
    if kind or cap:
        ident = f"#{label} " if kind else ""
        float_kind = kind[:-1] if kind else ("fig" if opts.get("fig-cap") else "tbl")
        caption = f"::: {{.pub-caption}}\n{cap}\n:::\n\n" if cap else ""
        return f"::::: {{{ident}.pub-float kind={float_kind}}}\n{caption}{body}\n:::::"
    return body


def chapter_markdown(doc: Document, run: Executed, defaults: dict, media: Path) -> str:
    """The chapter as pandoc markdown, with outputs and inline values in place."""
    values = iter(run.inline)
    blocks: list[str] = []
    code_i = 0
    defaults = {**defaults, **(doc.meta.get("execute") or {})}
    for cell in doc.cells:
        if cell.kind == "markdown":
            blocks.append(INLINE.sub(lambda m: next(values), cell.source))
        else:
            stem = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{doc.path.stem}-{cell.label or code_i + 1}")
            blocks.append(_code_cell(cell, run.outputs[code_i], defaults, media, stem))
            code_i += 1
    return "\n\n".join(b.strip("\n") for b in blocks if b.strip()) + "\n"
