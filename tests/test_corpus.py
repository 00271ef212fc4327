"""The corpus of corrupted inputs (tests/corpus.py): for each case, the exit code of
``python -m analysis validate`` and the file, column, row/line and rule named in its message;
for rejected inputs, that the results step and the render refuse before computing and leave a
previous output folder byte-identical."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from corpus import CASES, Case, make

from analysis.validation import main as validate_main

ROOT = Path(__file__).resolve().parents[1]
BY_NAME = {c.name: c for c in CASES}


def _line_for(case: Case, out: str) -> str:
    """The output line that reports the expected problem (file, column, where, rule)."""
    e = case.expect
    for line in out.splitlines():
        if (f"[rule: {e.rule}]" in line and e.file in line and e.where in line
                and (not e.column or f"column {e.column}" in line)):
            return line
    raise AssertionError(f"{case.name}: no line names {e} in:\n{out}")


def test_corpus_covers_every_class():
    assert len(CASES) >= 40
    assert len(BY_NAME) == len(CASES)
    rules = {c.expect.rule for c in CASES if c.expect}
    assert {"column-present", "type", "range", "unique-key", "known-subject", "file-present",
            "encoding", "empty-file", "empty-dataset", "direct-identifier", "yaml-syntax",
            "dataset-yaml", "allowed-arm", "future-date", "after-cutoff", "arm-size",
            "arm-treated", "arm-per-protocol", "primary-visit", "readable"} <= rules
    assert sum(c.expect is None for c in CASES) >= 8  # accepted oddities are in it too


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_validate_message(case, tmp_path, capsys):
    folder = make(case, tmp_path / case.name)
    code = validate_main(folder)
    out = capsys.readouterr().out
    assert "Traceback" not in out
    if case.expect is None:
        assert code == 0, out
        assert "OK - " in out
        if case.note:
            assert out.count(case.note) == 1
        return
    assert code == 1
    line = _line_for(case, out)
    assert "^" not in line  # never a bare caret line from the YAML parser
    if case.expect.where.startswith("line"):
        assert " line " in line or ", line" in line


def test_latin1_error_suggests_the_encoding(tmp_path, capsys):
    validate_main(make(BY_NAME["latin1_file"], tmp_path / "c"))
    line = _line_for(BY_NAME["latin1_file"], capsys.readouterr().out)
    # 'é' sits in data row 3 (file line 4); the hint names the encoding it decodes as
    assert "data row 3" in line and "Windows-1252/Latin-1" in line and "UTF-8" in line


def test_header_only_adsl_is_not_reported_as_orphans(tmp_path, capsys):
    validate_main(make(BY_NAME["header_only_adsl"], tmp_path / "c"))
    out = capsys.readouterr().out
    assert "adsl.csv: the dataset is empty (header only) [rule: empty-dataset]" in out
    assert "known-subject" not in out


def _run(*args, cwd=ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONHASHSEED="0", MPLBACKEND="Agg")
    env.pop("REPORT_BLINDED", None)
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.mark.parametrize("name, code", [("yaml_bad_mapping", 1), ("latin1_file", 1),
                                        ("unknown_extra_dataset", 0)])
def test_validate_exit_code_as_a_command(name, code, tmp_path):
    proc = _run("-m", "analysis", "validate", str(make(BY_NAME[name], tmp_path / name)))
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _previous_report(folder: Path) -> Path:
    """A stand-in for a previous report: the render must not touch it at all on refusal."""
    (folder / "figures").mkdir(parents=True)
    (folder / "index.html").write_text("<html>previous report</html>\n", encoding="utf-8")
    (folder / "results.csv").write_text("endpoint,statistic,value\nx,n,1\n", encoding="utf-8")
    (folder / "figures" / "f.svg").write_text("<svg/>\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("name", ["yaml_unclosed_bracket", "nobody_at_primary_visit"])
def test_results_refuses_before_computing(name, tmp_path):
    out = tmp_path / "out"
    proc = _run("-m", "analysis", "results", "--data", str(make(BY_NAME[name], tmp_path / name)),
                "--out", str(out))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"[rule: {BY_NAME[name].expect.rule}]" in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("name", ["yaml_bad_mapping", "one_arm", "header_only_adsl"])
def test_render_refuses_and_leaves_previous_output(name, tmp_path):
    out = _previous_report(tmp_path / "out")
    before = _snapshot(out)
    proc = _run("-m", "publishing", "render", "--engine", "builtin",
                "--data", str(make(BY_NAME[name], tmp_path / name)), "--out", str(out))
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert f"[rule: {BY_NAME[name].expect.rule}]" in proc.stderr
    assert "^" not in proc.stderr  # the YAML error is a named rule, not a caret line
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out", name])
