"""The Quarto path, with a fake ``quarto`` executable on PATH (Quarto is not installed here)."""

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
import json, os, pathlib, sys
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
project = pathlib.Path(sys.argv[2])
config = (project / "_quarto.yml").read_text()
log.write_text(json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd(), "config": config,
                            "QUARTO_PYTHON": os.environ.get("QUARTO_PYTHON"),
                            "RESPINE_DATA": os.environ.get("RESPINE_DATA"),
                            "RESPINE_ENGINE": os.environ.get("RESPINE_ENGINE")}}))
out = project / "_output"
out.mkdir()
for ext in ("html", "pdf", "docx"):
    (out / f"fixture.{{ext}}").write_text(ext)
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
    fake_quarto("1.9.20")
    assert quarto.version(quarto.find()) == (1, 9, 20)
    assert quarto.usable()[1] == (1, 9, 20)


def test_old_quarto_is_not_used(fake_quarto):
    fake_quarto("1.8.26")
    assert quarto.usable() is None
    assert choose_engine("auto")[0] == "builtin"
    with pytest.raises(RenderError, match="older than 1.9"):
        choose_engine("quarto")


def test_builtin_can_be_forced_with_quarto_present(fake_quarto):
    fake_quarto("1.9.36")
    engine, _, versions = choose_engine("auto")
    assert engine == "quarto"
    assert versions["quarto"] == "1.9.36" and versions["pandoc"] == "3.4"
    assert versions["typst"] == "0.11.0"
    assert choose_engine("builtin")[0] == "builtin"


def test_auto_renders_with_quarto_and_the_page_marks(fake_quarto, tmp_path, monkeypatch):
    log = fake_quarto("1.9.20")
    monkeypatch.setenv("RESPINE_BLINDED", "1")
    out = tmp_path / "out"
    files = render(FIXTURE, FIXTURE / "data", "auto", out, results=False,
                   progress=lambda *a: None)
    got = json.loads(log.read_text())
    assert got["argv"][0] == "render" and len(got["argv"]) == 2
    staged = Path(got["argv"][1])
    assert staged != FIXTURE and (staged.name == "project")  # a staged copy, not the tree
    assert got["QUARTO_PYTHON"] == sys.executable
    assert got["RESPINE_DATA"] == str(FIXTURE / "data")
    assert got["RESPINE_ENGINE"].startswith("quarto (quarto 1.9.20, pandoc 3.4, typst 0.11.0")
    config = yaml.safe_load(got["config"])
    html = config["format"]["html"]["include-before-body"]
    assert Path(html[0]).name == "notice.html"
    assert Path(config["format"]["typst"]["include-in-header"][0]).name == "notice.typ"
    assert Path(config["format"]["docx"]["reference-doc"]).name == "reference.docx"
    assert config["book"]["chapters"] == yaml.safe_load(
        (FIXTURE / "_quarto.yml").read_text())["book"]["chapters"]
    assert sorted(f.name for f in files) == ["fixture.docx", "fixture.html", "fixture.pdf"]
    assert (out / "fixture.pdf").read_text() == "pdf"
    assert "_output" not in os.listdir(FIXTURE)  # the source tree was not written to


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
    assert config["format"]["typst"] == {"toc": True, "include-in-header": [str(assets["typst"])]}
    assert config["format"]["docx"] == {"reference-doc": str(assets["docx"])}
