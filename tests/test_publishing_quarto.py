"""Argument handling of the Quarto path, with a fake ``quarto`` executable on PATH.

These tests check what is passed to Quarto and how its version is judged, not Quarto itself:
real Quarto renders are tested in ``tests/test_quarto_real.py``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from publishing import quarto
from publishing.render import RenderError, choose_engine, render

FIXTURE = Path(__file__).parent / "fixtures" / "book"

FAKE = """#!{python}
import json, os, pathlib, sys, zipfile
import yaml
if sys.argv[1:] == ["--version"]:
    print("{version}")
    sys.exit(0)
if sys.argv[1:] == ["pandoc", "--version"]:
    print("pandoc 3.4")
    print("Features: +server +lua")
    sys.exit(0)
if sys.argv[1:] == ["typst", "--version"]:
    print("typst 0.11.0 (2bf9f95d)")
    sys.exit(0)
log = pathlib.Path({log!r})
args = sys.argv[1:]
project = pathlib.Path(args[1])
to = args[args.index("--to") + 1] if "--to" in args else None
text = (project / "_quarto.yml").read_text()
config = yaml.safe_load(text)
calls = json.loads(log.read_text()) if log.exists() else []
calls.append({{"argv": args, "cwd": os.getcwd(), "config": text,
               "inputs": sorted(p.relative_to(project).as_posix() for p in project.rglob("*")
                                if p.suffix in (".qmd", ".ipynb", ".quarto_ipynb")),
               "QUARTO_PYTHON": os.environ.get("QUARTO_PYTHON"),
               "REPORT_DATA": os.environ.get("REPORT_DATA"),
               "REPORT_ENGINE": os.environ.get("REPORT_ENGINE")}})
log.write_text(json.dumps(calls))
if config.get("keep-ipynb"):  # Quarto keeps the notebook it executed for each chapter
    for qmd in project.rglob("*.qmd"):
        if "```{{python}}" in qmd.read_text():
            qmd.with_suffix(".quarto_ipynb").write_text("{{}}")
out = project / "_output"
out.mkdir(exist_ok=True)
for fmt in [to] if to else list(config["format"]):
    if fmt == "docx":
        with zipfile.ZipFile(out / "fixture.docx", "w") as z:  # a DOCX is a zip
            z.writestr("word/document.xml", "<w:document/>")
    else:
        (out / {{"html": "fixture.html", "typst": "fixture.pdf"}}[fmt]).write_text(fmt)
"""


@pytest.fixture
def fake_quarto(tmp_path, monkeypatch):
    def make(version: str) -> Path:
        bindir = tmp_path / "bin"
        bindir.mkdir(exist_ok=True)
        log = tmp_path / "quarto-log.json"
        exe = bindir / "quarto"
        exe.write_text(FAKE.format(python=sys.executable, version=version, log=str(log)))
        exe.chmod(0o755)
        monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
        return log

    return make


def test_version_is_parsed(fake_quarto):
    fake_quarto("1.10.20")
    assert quarto.version(quarto.find()) == (1, 10, 20)
    assert quarto.usable()[1] == (1, 10, 20)


def test_old_quarto_is_not_used_and_says_so_in_one_line(fake_quarto):
    fake_quarto("1.9.36")  # renders Typst books, but older than the tested range
    assert quarto.found()[1] == (1, 9, 36) and quarto.usable() is None
    lines = []
    assert choose_engine("auto", lines.append)[0] == "builtin"
    assert len(lines) == 1
    assert lines[0].startswith("Quarto 1.9.36 at ") and "older than 1.10" in lines[0]
    assert lines[0].endswith("using the built-in engine instead")
    with pytest.raises(RenderError, match=r"--engine quarto: Quarto 1\.9\.36 .*older than "
                                          r"1\.10 \(supported: Quarto >= 1\.10"):
        choose_engine("quarto")


def test_engine_quarto_without_quarto_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RenderError, match="--engine quarto: Quarto is not on PATH"):
        choose_engine("quarto")
    assert choose_engine("auto")[0] == "builtin"


def test_builtin_can_be_forced_with_quarto_present(fake_quarto):
    fake_quarto("1.10.18")
    engine, _, versions = choose_engine("auto")
    assert engine == "quarto"
    assert versions["quarto"] == "1.10.18" and versions["pandoc"] == "3.4"
    assert versions["typst"] == "0.11.0"
    assert choose_engine("builtin")[0] == "builtin"


def test_auto_renders_with_quarto_and_the_page_marks(fake_quarto, tmp_path, monkeypatch):
    log = fake_quarto("1.10.18")
    monkeypatch.setenv("REPORT_BLINDED", "1")
    out = tmp_path / "out"
    files = render(FIXTURE, FIXTURE / "data", "auto", out, results=False,
                   progress=lambda *a: None)
    calls = json.loads(log.read_text())
    # one pass per format, the first (html) executes; see the next test
    assert [c["argv"][2:] for c in calls] == [["--to", "html"], ["--to", "typst"],
                                               ["--to", "docx"]]
    got = calls[0]
    assert got["argv"][0] == "render"
    staged = Path(got["argv"][1])
    assert staged != FIXTURE and (staged.name == "project")  # a staged copy, not the tree
    assert got["QUARTO_PYTHON"] == sys.executable
    assert got["REPORT_DATA"] == str(FIXTURE / "data")
    assert got["REPORT_ENGINE"].startswith("quarto (quarto 1.10.18, pandoc 3.4, typst 0.11.0")
    config = yaml.safe_load(got["config"])
    html = config["format"]["html"]["include-before-body"]
    assert Path(html[0]).name == "notice.html"
    # the fixture asks for embed-resources, which breaks Typst books under Quarto 1.10
    assert "embed-resources" not in config["format"]["html"]
    assert config["format"]["html"]["html-math-method"] == "mathml"  # no MathJax CDN
    assert Path(config["format"]["typst"]["include-in-header"][0]).name == "notice.typ"
    assert Path(config["format"]["docx"]["reference-doc"]).name == "reference.docx"
    assert config["book"]["chapters"] == yaml.safe_load(
        (FIXTURE / "_quarto.yml").read_text())["book"]["chapters"]
    assert sorted(f.name for f in files) == ["fixture.docx", "fixture.html", "fixture.pdf"]
    assert (out / "fixture.pdf").read_text() == "typst"
    assert "_output" not in os.listdir(FIXTURE)  # the source tree was not written to


def test_chapters_execute_once_then_render_from_their_notebooks(fake_quarto, tmp_path):
    log = fake_quarto("1.10.18")
    render(FIXTURE, FIXTURE / "data", "quarto", tmp_path / "out", results=False,
           progress=lambda *a: None)
    first, *rest = json.loads(log.read_text())
    assert yaml.safe_load(first["config"])["keep-ipynb"] is True
    assert "chapters/one.qmd" in first["inputs"]
    for later in rest:  # typst and docx: the executed notebooks, nothing left to execute
        config = yaml.safe_load(later["config"])
        assert "keep-ipynb" not in config
        assert config["book"]["chapters"] == [
            "index.qmd", "chapters/one.ipynb",
            {"part": "Results", "chapters": ["chapters/two.ipynb"]}]
        assert config["book"]["appendices"] == ["chapters/app.ipynb"]
        # index.qmd has no code cell (nothing executed, kept as is); _inc.qmd is included
        assert later["inputs"] == ["chapters/_inc.qmd", "chapters/app.ipynb",
                                   "chapters/one.ipynb", "chapters/two.ipynb", "index.qmd"]
        assert config["format"] == yaml.safe_load(first["config"])["format"]


def test_quarto_alone_executes_per_format_when_asked(fake_quarto, tmp_path, monkeypatch):
    log = fake_quarto("1.10.18")
    monkeypatch.setenv("REPORT_QUARTO_EXECUTE_ONCE", "0")
    files = render(FIXTURE, FIXTURE / "data", "quarto", tmp_path / "out", results=False,
                   progress=lambda *a: None)
    calls = json.loads(log.read_text())
    assert len(calls) == 1 and len(calls[0]["argv"]) == 2  # plain ``quarto render DIR``
    assert "keep-ipynb" not in yaml.safe_load(calls[0]["config"])
    assert sorted(f.name for f in files) == ["fixture.docx", "fixture.html", "fixture.pdf"]


def test_page_marks_only_for_the_formats_the_book_declares(tmp_path):
    # the supplement declares typst and docx: no HTML format may be added to it
    (tmp_path / "_quarto.yml").write_text(
        "project:\n  type: book\nformat:\n  typst:\n    toc: true\n  docx: default\n")
    assets = {"html": tmp_path / "n.html", "typst": tmp_path / "n.typ",
              "docx": tmp_path / "r.docx"}
    assets["html"].write_text("<div>mark</div>")
    assets["typst"].write_text("#set page(header: [mark])\n")
    config = quarto.stage_config(tmp_path, assets)
    assert config == yaml.safe_load((tmp_path / "_quarto.yml").read_text())
    assert set(config["format"]) == {"typst", "docx"}
    layout = tmp_path / "_typst-layout.typ"  # the built-in engine's table rules, for Quarto
    assert config["format"]["typst"] == {"toc": True, "include-in-header": [
        str(assets["typst"]), str(layout)]}
    assert "#show figure: set block(breakable: true)" in layout.read_text()
    assert config["format"]["docx"] == {"reference-doc": str(assets["docx"])}


def test_a_one_chapter_book_is_rendered_as_one_document(tmp_path):
    config = {"project": {"type": "book", "output-dir": "_output"},
              "book": {"title": "T", "author": [{"name": "A"}], "output-file": "x-article",
                       "chapters": ["index.qmd"]},
              "format": {"html": {"toc": False}, "typst": {}, "docx": None}}
    one = quarto.single_document(config)
    assert one["project"] == {"type": "default", "output-dir": "_output",
                              "render": ["index.qmd"]}
    assert "book" not in one and one["title"] == "T" and one["author"] == [{"name": "A"}]
    assert {f: o["output-file"] for f, o in one["format"].items()} == {
        "html": "x-article.html", "typst": "x-article.pdf", "docx": "x-article.docx"}
    two = {**config, "book": {**config["book"], "chapters": ["index.qmd", "b.qmd"]}}
    assert quarto.single_document(two) == two  # a real book stays a book


def test_html_is_made_offline_or_the_render_fails(tmp_path):
    head = ('<script src="https://cdn.jsdelivr.net/npm/requirejs@2.3.6/require.min.js" '
            'integrity="sha384-x" crossorigin="anonymous"></script>\n'
            '<script src="https://cdn.jsdelivr.net/npm/jquery@3.5.1/dist/jquery.min.js" '
            'crossorigin="anonymous" data-relocate-top="true"></script>\n'
            '<script type="application/javascript">define(\'jquery\', [],function() '
            '{return window.jQuery;})</script>\n')
    (tmp_path / "chapters").mkdir()
    page = tmp_path / "chapters" / "one.html"
    page.write_text(f"<head>\n{head}<script src=\"../site_libs/quarto.js\"></script>\n</head>"
                    '<body><a href="https://doi.org/10.1/x">doi</a></body>')
    assert quarto.make_offline(tmp_path) == []
    assert page.read_text() == ('<head>\n<script src="../site_libs/quarto.js"></script>\n'
                                '</head><body><a href="https://doi.org/10.1/x">doi</a></body>')
    (tmp_path / "index.html").write_text(
        '<script src="https://cdnjs.cloudflare.com/polyfill/v3/polyfill.min.js"></script>')
    (tmp_path / "site.css").write_text("body{background:url('//img.example/b.png')}")
    assert quarto.make_offline(tmp_path) == [
        "index.html: https://cdnjs.cloudflare.com/polyfill/v3/polyfill.min.js",
        "site.css: //img.example/b.png"]


def test_docx_takes_the_png_of_a_figure_that_has_both(tmp_path):
    nb = {"cells": [
        {"cell_type": "markdown", "source": "text", "metadata": {}},
        {"cell_type": "code", "source": "show_figure('a')", "metadata": {}, "outputs": [
            {"output_type": "display_data", "metadata": {},
             "data": {"image/png": "iVBOR", "image/svg+xml": "<svg/>", "text/plain": "<a>"}},
            {"output_type": "display_data", "metadata": {},
             "data": {"image/svg+xml": "<svg/>", "text/plain": "<only svg>"}},
            {"output_type": "stream", "name": "stdout", "text": "x"}]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "one.ipynb"
    path.write_text(json.dumps(nb))
    assert quarto.prefer_png(path) == 1
    outputs = json.loads(path.read_text())["cells"][1]["outputs"]
    assert outputs[0]["data"] == {"image/png": "iVBOR", "text/plain": "<a>"}
    assert outputs[1]["data"] == {"image/svg+xml": "<svg/>", "text/plain": "<only svg>"}
    assert quarto.prefer_png(path) == 0
