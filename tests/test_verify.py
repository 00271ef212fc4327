"""Verification: hash collection, comparison, exit status (rebuild replaced by a fake)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from publishing import verify


def _output(root: Path) -> Path:
    (root / "tables").mkdir(parents=True)
    (root / "figures").mkdir()
    (root / "results.csv").write_text("a,b\n1,2\n")
    (root / "results.json").write_text("[]\n")
    (root / "tables" / "t1.csv").write_text("x\n1\n")
    (root / "tables" / "t1.xlsx").write_bytes(b"not compared")
    (root / "figures" / "f.svg").write_text("<svg/>")
    (root / "figures" / "f.png").write_bytes(b"not compared")
    (root / "online-supplement.zip").write_bytes(b"zip")
    (root / "report.html").write_text("not compared")
    return root


def test_collect_takes_only_data_derived_files(tmp_path):
    got = verify.collect(_output(tmp_path / "o"))
    assert sorted(got) == ["figures/f.svg", "online-supplement.zip", "results.csv",
                           "results.json", "tables/t1.csv"]
    import hashlib

    assert got["results.csv"] == hashlib.sha256(b"a,b\n1,2\n").hexdigest()


def test_compare_statuses():
    rows = verify.compare({"a": "1", "b": "2", "c": "3"}, {"a": "1", "b": "9", "d": "4"})
    assert [(r.path, r.status) for r in rows] == [
        ("a", "identical"), ("b", "DIFFERENT"), ("c", "not reproduced"),
        ("d", "missing in current output")]
    assert [r.ok for r in rows] == [True, False, False, False]


@pytest.fixture
def project(tmp_path, monkeypatch):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "_quarto.yml").write_text("project: {type: book, output-dir: _out}\n")
    _output(proj / "_out")
    calls = []

    def fake_rebuild(project, data, engine, dest, supplement, progress=print, trial=None):
        calls.append(supplement)
        shutil.copytree(project / "_out", dest)
        return dest

    monkeypatch.setattr(verify, "rebuild", fake_rebuild)
    return proj, calls


def test_main_identical_exits_zero(project, capsys):
    proj, calls = project
    assert verify.main(proj) == 0
    assert calls == [True]  # the current output has a supplement zip: rebuild it too
    out = capsys.readouterr().out
    assert "tables/t1.csv" in out and "identical" in out and "VERIFIED: 5 files" in out


def test_main_difference_exits_nonzero(project, monkeypatch, capsys):
    proj, _ = project
    real = verify.rebuild

    def changed(*a, **k):
        dest = real(*a, **k)
        (dest / "tables" / "t1.csv").write_text("x\n2\n")
        return dest

    monkeypatch.setattr(verify, "rebuild", changed)
    assert verify.main(proj) == 1
    captured = capsys.readouterr()
    assert "tables/t1.csv" in captured.out and "DIFFERENT" in captured.out
    assert "1 of 5 files differ" in captured.err


def test_main_without_current_output(tmp_path, capsys):
    (tmp_path / "_quarto.yml").write_text("project: {type: book, output-dir: _out}\n")
    assert verify.main(tmp_path) == 2
    assert "make report" in capsys.readouterr().err


def test_current_output_may_be_the_versioned_symlink(tmp_path, monkeypatch, capsys):
    from publishing import output

    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "_quarto.yml").write_text("project: {type: book, output-dir: _out}\n")
    output.publish(_output(tmp_path / "staged"), proj / "_out")
    assert (proj / "_out").is_symlink()

    def fake_rebuild(project, data, engine, dest, supplement, progress=print, trial=None):
        output.publish(_output(tmp_path / "fresh"), dest)  # published like a real rebuild
        return dest

    monkeypatch.setattr(verify, "rebuild", fake_rebuild)
    assert verify.main(proj) == 0
    assert "VERIFIED: 5 files identical" in capsys.readouterr().out


def test_refuses_while_the_output_is_being_written(project, capsys):
    import subprocess
    import sys

    proj, calls = project
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys\nfrom publishing import output\n"
         "with output.lock(sys.argv[1]):\n    print('locked', flush=True)\n"
         "    sys.stdin.readline()\n", str(proj / "_out")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert verify.main(proj) == 2
    finally:
        holder.communicate("\n", timeout=30)
    assert calls == []  # nothing was rebuilt
    assert f"another render of {proj / '_out'} is running (pid {holder.pid})" in \
        capsys.readouterr().err
