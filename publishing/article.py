"""``python -m publishing.article``: the original-article draft beside the full report.

The article is the one-chapter book in ``article/`` (``index.qmd`` and its helper
``articlelib.py``), rendered by the same engine as the report from the results store of the
trial and data (``$REPORT_RESULTS`` when that file exists; else computed, or reused from the
build cache when ``$REPORT_CACHE`` is ``1`` and its inputs are unchanged; never the output
folder's store, which may belong to another trial) and the trial specification in use
(``$REPORT_TRIAL``). Its ``_quarto.yml`` is written here, from the specification: title,
authors, bibliography (the project's and the trial's) and Vancouver style.

The DOCX is made the way journals ask for it (:func:`journal_docx`): A4, page numbers in the
footer, continuous line numbers, no table of contents. The build counts, on the rendered DOCX
(:func:`count_docx`), the words of the abstract and of the main text (Introduction to
Conclusion, without headings, tables and captions), the numbered tables and figures, and the
``[to be supplied: ...]`` placeholders; it prints them, warns when a limit is exceeded
(:data:`LIMITS`) and writes them to ``article/counts.json``.

Output: ``<out>/article/<name>-article.{html,pdf,docx}`` and ``counts.json``, published as a new
version of the output folder (a copy of the report there plus ``article/``, one rename).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import yaml

from publishing import cache, output
from publishing.environment import scoped_environ
from publishing.officezip import normalise as normalise_office
from publishing.officezip import source_date_epoch

FOLDER = "article"
LIMITS = {"abstract": 250, "main": 3500, "displays": 6}
MAIN_SECTIONS = ("introduction", "methods", "results", "discussion", "conclusion",
                 "conclusions")
CAPTION = re.compile(r"(Table|Figure)\s*(\d+)\s*:")  # "Table 2: ..." (numbered display)
PLACEHOLDER = re.compile(r"\[to be supplied: ([^\]]+)\]")
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


# ------------------------------------------------------------------ configuration


def article_name(spec) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", spec.identity.short_name.lower()).strip("-") or "trial"
    return f"{slug}-article"


def merged_bibliography(project: Path, spec, dest: Path) -> Path:
    """The project's bibliography and the trial's (when another file), one entry per key."""
    seen, parts = set(), []
    files = [project / "references.bib"]
    if spec.references:
        files.append(Path(spec.references))
    for f in files:
        if not f.is_file():
            continue
        for entry in re.split(r"(?m)^(?=@)", f.read_text(encoding="utf-8")):
            m = re.match(r"@\w+\{([^,]+),", entry.strip())
            if m and m.group(1) not in seen:
                seen.add(m.group(1))
                parts.append(entry.strip() + "\n")
    dest.write_text("\n".join(parts), encoding="utf-8")
    return dest


def quarto_config(spec) -> dict:
    """The article's ``_quarto.yml``: a one-chapter book, unnumbered, no table of contents."""
    idn = spec.identity
    authors = [{"name": a.name} for a in idn.authors] or [
        {"name": "[to be supplied: authors and affiliations]"}]
    no_toc = {"toc": False, "number-sections": False}
    return {
        "project": {"type": "book", "output-dir": "_output"},
        "book": {"title": idn.title.strip(), "subtitle": f"{idn.short_name}: original article",
                 "author": authors, "output-file": article_name(spec),
                 "chapters": ["index.qmd"]},
        "bibliography": "references.bib",
        "csl": "vancouver.csl",
        "number-sections": False,
        "execute": {"echo": False, "warning": False},
        "format": {"html": {**no_toc, "html-math-method": "mathml"},
                   "typst": {**no_toc, "papersize": "a4", "citeproc": True},
                   "docx": dict(no_toc)},
    }


def stage_sources(project: Path, spec, dest: Path) -> Path:
    """``article/`` with its generated ``_quarto.yml``, bibliography and style in ``dest``."""
    src = project / FOLDER
    output.copy_tree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "_output",
                                                               "*.pyc"))
    (dest / "_quarto.yml").write_text(yaml.safe_dump(quarto_config(spec), sort_keys=False,
                                                     allow_unicode=True), encoding="utf-8")
    merged_bibliography(project, spec, dest / "references.bib")
    shutil.copyfile(project / "vancouver.csl", dest / "vancouver.csl")
    return dest


# ------------------------------------------------------------------ DOCX for journals


def journal_docx(path: Path) -> Path:
    """A4 portrait, 2.5 cm margins, continuous line numbers, a centred PAGE field in the
    footer, and no table of contents (a TOC field or "Table of Contents" heading is
    removed)."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm

    doc = docx.Document(str(path))
    for sec in doc.sections:
        sec.page_width, sec.page_height = Mm(210), Mm(297)
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(sec, side, Mm(25))
        sp = sec._sectPr
        for old in sp.findall(qn("w:lnNumType")):
            sp.remove(old)
        ln = OxmlElement("w:lnNumType")
        ln.set(qn("w:countBy"), "1")
        ln.set(qn("w:restart"), "continuous")
        ln.set(qn("w:distance"), "284")
        sp.insert_element_before(ln, "w:pgNumType", "w:cols", "w:formProt", "w:vAlign",
                                 "w:noEndnote", "w:titlePg", "w:textDirection", "w:bidi",
                                 "w:rtlGutter", "w:docGrid", "w:printerSettings",
                                 "w:sectPrChange")
        footer = sec.footer
        footer.is_linked_to_previous = False
        p = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
        for r in list(p.runs):
            r._r.getparent().remove(r._r)
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        for kind, instr in (("begin", None), (None, " PAGE "), ("separate", None),
                            (None, None), ("end", None)):
            run = p.add_run()
            if kind:
                fc = OxmlElement("w:fldChar")
                fc.set(qn("w:fldCharType"), kind)
                run._r.append(fc)
            elif instr:
                it = OxmlElement("w:instrText")
                it.set(qn("xml:space"), "preserve")
                it.text = instr
                run._r.append(it)
            else:
                run.text = "1"
    body = doc.element.body
    for sdt in list(body.iter(qn("w:sdt"))):
        gallery = sdt.find(".//" + qn("w:docPartGallery"))
        if gallery is not None and "Table of Contents" in (gallery.get(qn("w:val")) or ""):
            sdt.getparent().remove(sdt)
    for par in list(doc.paragraphs):
        style = par.style.name if par.style is not None else ""
        if par.text.strip().lower() in ("table of contents", "contents") and (
                "TOC" in style or "Heading" in style):
            par._p.getparent().remove(par._p)
    doc.save(str(path))
    return path


def _text(el) -> str:
    return "".join(t.text or "" for t in el.iter(W + "t"))


def _style(p) -> str:
    """The paragraph's style (Quarto's DOCX may give a caption two ``pPr``; any holds it)."""
    ps = p.find(f"{W}pPr/{W}pStyle")
    return ps.get(W + "val") if ps is not None else ""


def _words(text: str) -> int:
    return sum(1 for w in text.split() if re.search(r"[A-Za-z0-9]", w))


def count_docx(path: Path) -> dict:
    """Words of the abstract and of the main text, numbered tables and figures, and the
    placeholders, counted on the rendered DOCX."""
    with zipfile.ZipFile(path) as zf:
        root = ET.fromstring(zf.read("word/document.xml"))
    body = root.find(W + "body")
    section, counts = "", {"abstract": 0, "main": 0}
    tables, figures, holes, word_tables = set(), set(), [], 0
    for el in body:
        if el.tag == W + "tbl":
            word_tables += 1
            holes += PLACEHOLDER.findall(_text(el))
            for p in el.iter(W + "p"):  # Quarto puts a float's caption in a layout table
                m = CAPTION.match(_text(p).strip())
                if m and "Caption" in _style(p):
                    (tables if m.group(1) == "Table" else figures).add(int(m.group(2)))
            continue
        if el.tag != W + "p":
            if el.tag == W + "sdt":
                holes += PLACEHOLDER.findall(_text(el))
            continue
        text = _text(el).strip()
        holes += PLACEHOLDER.findall(text)
        style = _style(el)
        m = CAPTION.match(text)
        if m and "Caption" in style:
            (tables if m.group(1) == "Table" else figures).add(int(m.group(2)))
            continue
        if style.lower().startswith("heading1") or style == "Heading1":
            section = text.lower()
            continue
        if style.lower().startswith("heading"):
            continue
        if section == "abstract":
            counts["abstract"] += _words(text)
        elif section in MAIN_SECTIONS:
            counts["main"] += _words(text)
    return {**counts, "tables": len(tables), "figures": len(figures),
            "displays": len(tables) + len(figures),
            "table_numbers": sorted(tables), "figure_numbers": sorted(figures),
            "word_tables": word_tables, "placeholders": list(dict.fromkeys(holes))}


def warnings(counts: dict) -> list[str]:
    out = []
    for key, what in (("abstract", "abstract words"), ("main", "main-text words"),
                      ("displays", "tables and figures")):
        if counts[key] > LIMITS[key]:
            out.append(f"WARNING: {counts[key]} {what}, above the journal's limit of "
                       f"{LIMITS[key]}")
    return out


# ------------------------------------------------------------------ build


def article_key(project: Path, data: Path, spec, store: Path, engine: str, epoch: int) -> str:
    """What the article depends on: its results store and data, every project file (code,
    article sources, bibliography), the trial's specification and text, the engine, the
    environment and the date."""
    from publishing import render as rendermod

    name, _exe, versions = rendermod.choose_engine(engine, lambda *a: None)
    return cache.key({"level": "article", "results": cache.file_digest(store),
                      "data": cache.tree_digest(data), "data-path": str(data),
                      "project": cache.tree_digest(project, cache.SKIP_DIRS, hidden=False),
                      "trial": cache.trial_digest(spec.path, data),
                      "trial-text": cache.trial_digest(spec.path, data, text=True),
                      "engine": rendermod.describe(name, versions),
                      "env": cache.environment(project), "epoch": epoch})


def build(project: Path | str = ".", data: Path | str | None = None, engine: str = "auto",
          out: Path | str | None = None, progress=print) -> Path:
    """Render the article of ``project`` from the report's results store in ``out`` (default:
    the project's output folder) and publish it there as ``article/``. Returns the folder."""
    from analysis.spec.locate import current_spec
    from publishing import book as bookmod
    from publishing import render as rendermod

    t0 = time.perf_counter()
    project = Path(project).resolve()
    spec = current_spec()
    data = Path(data or os.environ.get("REPORT_DATA") or spec.data.folder)
    data = (data if data.is_absolute() else Path.cwd() / data).resolve()
    final = rendermod.out_path(project, out, bookmod.load(project).output_dir)
    epoch = source_date_epoch()
    name = article_name(spec)
    progress(f"Article: {spec.identity.short_name}, data {data}")
    keys = ("REPORT_DATA", "REPORT_RESULTS", "REPORT_PROJECT", "REPORT_TRIAL",
            "SOURCE_DATE_EPOCH")
    tmp = None
    try:
        with output.lock(final), output.staging("article-") as tmp, scoped_environ(keys):
            given = os.environ.get("REPORT_RESULTS")
            if given and Path(given).is_file():
                store = Path(given)
            else:  # this trial's and data's store: reused from the build cache when fresh
                os.environ.update({"REPORT_TRIAL": str(spec.path),  # as the report's render
                                   "SOURCE_DATE_EPOCH": str(epoch)})
                build = cache.Build(cache.for_project(project, None, progress), project, data,
                                    engine, "", [], True, trial=spec.path)
                rendermod.run_results(project, data, tmp / "results", build, progress)
                store = tmp / "results" / "results.csv"
            os.environ.update({"REPORT_DATA": str(data), "REPORT_RESULTS": str(store.resolve()),
                               "REPORT_TRIAL": str(spec.path),
                               "REPORT_PROJECT": str(project),
                               "SOURCE_DATE_EPOCH": str(epoch)})
            kept = cache.for_project(project, None, progress)  # REPORT_CACHE=1 (make report)
            akey = article_key(project, data, spec, store, engine, epoch) if kept else ""
            entry = kept.get("article", akey) if kept is not None else None
            if entry is not None and cache.holds(entry, final / FOLDER):
                counts = json.loads((entry / "counts.json").read_text(encoding="utf-8"))
                report_counts(counts, progress)
                progress(f"Article reused (no input changed): {final / FOLDER} is up to date "
                         f"({time.perf_counter() - t0:.1f} s)")
                return final / FOLDER
            stage = tmp / FOLDER
            if entry is not None:
                cache.copy_out(entry, stage)
                files = sorted(stage.iterdir())
                progress("  article reused from the build cache")
            else:
                src = stage_sources(project, spec, tmp / "src")
                files = rendermod.render(src, data, engine, tmp / "doc", results=False,
                                         progress=lambda m: progress("  " + m),
                                         use_cache=False)
                doc = Path(tmp / "doc").resolve()
                output.copy_tree(doc, stage)
            docx = stage / f"{name}.docx"
            counts = {}
            if entry is None and docx.is_file():
                journal_docx(docx)
                normalise_office(docx, epoch)
            if docx.is_file():
                counts = count_docx(docx)
            (stage / "counts.json").write_text(json.dumps(counts, indent=1) + "\n",
                                               encoding="utf-8")
            if kept is not None and entry is None:
                kept.put("article", akey, stage)
                cache.prune(kept, "article")
            nxt = tmp / "next"
            if final.is_dir():
                output.copy_tree(final.resolve(), nxt, ignore=shutil.ignore_patterns(FOLDER))
            else:
                nxt.mkdir(parents=True)
            shutil.move(str(stage), nxt / FOLDER)
            rendermod.publish(nxt, final, progress)
    except Exception as err:
        failure = rendermod.as_failure(err, final, tmp)
        if failure is err:
            raise
        raise failure from None
    report_counts(counts, progress)
    progress(f"Article published to {final / FOLDER} ({len(files)} files) in "
             f"{time.perf_counter() - t0:.1f} s")
    return final / FOLDER


def report_counts(counts: dict, progress=print) -> None:
    if not counts:
        progress("  WARNING: no DOCX rendered; nothing counted")
        return
    progress(f"  Counts: abstract {counts['abstract']} words (limit {LIMITS['abstract']}), "
             f"main text {counts['main']} words (limit {LIMITS['main']}), "
             f"{counts['tables']} tables and {counts['figures']} figures "
             f"(limit {LIMITS['displays']})")
    holes = counts.get("placeholders") or []
    progress(f"  Placeholders ({len(holes)}): " + ("; ".join(holes) if holes else "none"))
    for w in warnings(counts):
        progress("  " + w)


def main(argv: list[str] | None = None) -> int:
    """``python -m publishing.article [--engine E] [--data DIR] [--project P] [--out DIR]``."""
    import argparse
    import sys

    from analysis.blinding import BlindingError, check

    parser = argparse.ArgumentParser(prog="python -m publishing.article",
                                     description="render the original-article draft")
    parser.add_argument("--engine", default="auto", choices=["auto", "quarto", "builtin"])
    parser.add_argument("--data", default=None, help="data folder (default $REPORT_DATA)")
    parser.add_argument("--trial", default=None, help="specification (default $REPORT_TRIAL)")
    parser.add_argument("--project", default=".", help="folder holding _quarto.yml")
    parser.add_argument("--out", default=None, help="output folder (default: the project's)")
    args = parser.parse_args(argv)
    if args.trial:
        os.environ["REPORT_TRIAL"] = str(Path(args.trial).resolve())
    try:
        check()
    except BlindingError as err:
        print(err, file=sys.stderr)
        return 2
    try:
        build(args.project, args.data, args.engine, args.out)
    except output.OutputError as err:
        print(f"\nARTICLE FAILED: {err}", file=sys.stderr)
        return 1
    except Exception as err:  # say it, and what the output folder holds now
        notes = "\n".join(getattr(err, "__notes__", None) or
                          ["Nothing was written to the output folder."])
        print(f"\nARTICLE FAILED: {type(err).__name__}: {err}\n{notes}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
