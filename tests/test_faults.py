"""Faults lose nothing: renders killed with SIGKILL, a concurrent render, full disks, read-only
folders, and byte-identical outputs across clean renders.

Renders run in subprocesses with their own ``TMPDIR``; ``REPORT_KILL_AT`` names the fault point
(:func:`publishing.output.fault`) at which the process kills itself with SIGKILL. The publish
steps are also driven by a small harness (:data:`HARNESS`) that calls
:func:`publishing.output.publish` directly, so every step of the switch is killed cheaply.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import docx
import pytest
from folders import snapshot as _snapshot
from folders import write_folder as _folder

from publishing import output
from publishing.__main__ import main
from publishing.officezip import DEFAULT_EPOCH
from publishing.render import render

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "book"
QUIET = lambda *a: None  # noqa: E731

# The chapter waits (during the engine) while $TINY_WAIT is set: it writes <file>.ready and
# polls for <file>.go, so a test can act while the render is inside its kernel.
CHAPTER = """# A

```{python}
import os, pathlib, time
wait = os.environ.get("TINY_WAIT")
if wait:
    pathlib.Path(wait + ".ready").write_text("")
    while not pathlib.Path(wait + ".go").exists():
        time.sleep(0.1)
print(os.environ.get("TINY_TEXT", "fresh report"))
```
"""

HARNESS = """
import errno, sys
from publishing import output
mode, staged, out = sys.argv[1:4]
if "no-exchange" in mode:
    def no_exchange(a, b):
        raise OSError(errno.EINVAL, "Invalid argument")
    output.exchange = no_exchange
if "full" in mode:
    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))
    output._move_tree = full
with output.staging("publishing-"):
    try:
        output.publish(staged, out)
    except output.OutputError as err:
        print(err, file=sys.stderr)
        sys.exit(1)
"""

PREVIOUS = {"tiny.html": "previous report", "results.csv": "name,value\nn,114\n",
            "tables/t.csv": "a\n1\n"}
NEW = {"tiny.html": "new report", "results.csv": "name,value\nn,115\n"}




def _as_bytes(files: dict[str, str]) -> dict[str, bytes]:
    return {k: v.encode() for k, v in sorted(files.items())}


def _leftovers(out: Path) -> list[str]:
    """What besides the output symlink and its versions folder lies next to ``out``."""
    return sorted(p.name for p in out.parent.glob(f".{out.name}.*")
                  if p.name != f".{out.name}.versions")


def _versions(out: Path) -> list[Path]:
    return sorted((out.parent / f".{out.name}.versions").iterdir())


def _staging(tmpdir: Path, pid: int | None = None) -> list[Path]:
    return sorted(tmpdir.glob(f"publishing-{pid if pid else ''}*"))


@pytest.fixture
def tiny(tmp_path):
    """A one-chapter book whose ``_output`` already holds a previous report."""
    project = tmp_path / "tiny"
    (project / "chapters").mkdir(parents=True)
    (project / "_quarto.yml").write_text(
        "project:\n  output-dir: _output\nbook:\n  title: Tiny\n  output-file: tiny\n"
        "  chapters:\n    - chapters/a.qmd\n")
    (project / "chapters" / "a.qmd").write_text(CHAPTER)
    out = project / "_output"
    output.publish(_folder(tmp_path / "prev", PREVIOUS), out)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    return project, out, tmpdir


def _env(tmpdir: Path, **extra) -> dict[str, str]:
    env = dict(os.environ, TMPDIR=str(tmpdir), MPLBACKEND="Agg")
    env.pop(output.KILL_AT, None)
    env.update(extra)
    return env


def _render_cmd(project: Path) -> list[str]:
    return [sys.executable, "-m", "publishing", "render", "--project", str(project),
            "--no-results", "--engine", "builtin"]


def _render(project: Path, tmpdir: Path, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(_render_cmd(project), cwd=ROOT, env=_env(tmpdir, **extra),
                          capture_output=True, text=True, timeout=600)


def _harness(mode: str, staged: Path, out: Path, tmpdir: Path, **extra):
    return subprocess.run([sys.executable, "-c", HARNESS, mode, str(staged), str(out)],
                          cwd=ROOT, env=_env(tmpdir, **extra), capture_output=True, text=True,
                          timeout=120)


# ------------------------------------------------------------------ killed renders


@pytest.mark.slow
def test_kill_during_the_engine_refuses_a_concurrent_render_and_loses_nothing(tiny):
    project, out, tmpdir = tiny
    before = _snapshot(out)
    wait = tmpdir / "hold"
    first = subprocess.Popen(_render_cmd(project), cwd=ROOT, start_new_session=True,
                             env=_env(tmpdir, TINY_WAIT=str(wait)),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not Path(f"{wait}.ready").exists():  # the first render is inside its kernel
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        second = _render(project, tmpdir)  # a concurrent render of the same folder
        assert second.returncode == 1
        assert (f"another render of {out} is running (pid {first.pid})"
                in second.stderr.splitlines()[-1])
        assert _snapshot(out) == before
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the render and its kernel
        first.wait()
    assert first.returncode == -signal.SIGKILL
    assert _snapshot(out) == before and out.is_symlink()  # the previous report, intact
    assert _staging(tmpdir, first.pid)  # the killed render left its staging folder

    nxt = _render(project, tmpdir)
    assert nxt.returncode == 0, nxt.stderr
    assert "fresh report" in (out / "tiny.html").read_text()
    assert not _staging(tmpdir)  # the dead render's staging folder was removed, and ours
    assert _leftovers(out) == [] and _versions(out) == [out.resolve()]
    assert sorted(p.name for p in project.iterdir()) == [
        "._output.versions", "_output", "_quarto.yml", "chapters"]


@pytest.mark.slow
@pytest.mark.parametrize("point", ["after-results", "after-engine"])
def test_render_killed_before_publishing_keeps_the_previous_report(tiny, point, tmp_path):
    project, out, tmpdir = tiny
    before = _snapshot(out)
    proc = _render(project, tmpdir, **{output.KILL_AT: point})
    assert proc.returncode == -signal.SIGKILL
    assert _snapshot(out) == before
    assert _leftovers(out) == ["._output.lock"]  # a lock file (unlocked by the kernel)
    assert len(_staging(tmpdir)) == 1  # left behind by the killed render
    # the next run removes the dead run's staging folder and publishes without losing anything
    nxt = _harness("", _folder(tmp_path / "next", NEW), out, tmpdir)
    assert nxt.returncode == 0, nxt.stderr
    assert _snapshot(out) == _as_bytes(NEW) and not _staging(tmpdir)
    assert _leftovers(out) == [] and _versions(out) == [out.resolve()]


# ------------------------------------------------------------------ killed switches

POINTS = [  # (fault point, a plain legacy folder?, exchange available?, report shown after)
    ("before-copy", False, True, "previous"),
    ("mid-copy", False, True, "previous"),
    ("before-complete", False, True, "previous"),
    ("before-switch", False, True, "previous"),
    ("after-switch", False, True, "new"),
    ("before-switch", True, True, "previous"),
    ("migrate-exchanged", True, True, "new"),
    ("migrate-aside", True, False, "aside"),
]


def _other_filesystem() -> Path | None:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and \
            shm.stat().st_dev != Path(__file__).stat().st_dev:
        return shm
    return None


@pytest.mark.parametrize("point,legacy,exchange,shown", POINTS,
                         ids=[f"{p[0]}{'-legacy' if p[1] else ''}" for p in POINTS])
def test_publish_killed_at_each_step_of_the_switch(tmp_path, point, legacy, exchange, shown):
    out, tmpdir = tmp_path / "p" / "_output", tmp_path / "tmp"
    tmpdir.mkdir()
    if legacy:
        _folder(out, PREVIOUS)  # the layout before versions: a plain folder
    else:
        output.publish(_folder(tmp_path / "prev", PREVIOUS), out)
    staged_root = tmp_path
    if point == "mid-copy":  # the copy path: staged on another filesystem
        other = _other_filesystem()
        if other is None:
            pytest.skip("no second filesystem to copy across")
        staged_root = Path(os.path.realpath(other)) / f"respine-test-{os.getpid()}-{id(out)}"
    staged = _folder(staged_root / "new", NEW)
    try:
        mode = "" if exchange else "no-exchange"
        proc = _harness(mode, staged, out, tmpdir, **{output.KILL_AT: point})
        assert proc.returncode == -signal.SIGKILL, proc.stderr
        if shown == "aside":  # killed between the two renames of the fallback migration
            assert _snapshot(out.parent / "._output.previous") == _as_bytes(PREVIOUS)
        else:
            assert _snapshot(out) == _as_bytes(PREVIOUS if shown == "previous" else NEW)
        # the next run fails (disk full): what `out` showed is kept, and the message says so
        again = _harness("full", _folder(tmp_path / "again", NEW), out, tmpdir)
        assert again.returncode == 1
        assert again.stderr.strip().endswith(
            f"disk full; the previous report in {out}/ is unchanged")
        want = NEW if shown == "new" else PREVIOUS
        assert _snapshot(out) == _as_bytes(want)
        # and the run after that succeeds and clears every trace of the killed one
        final = _harness("", _folder(tmp_path / "final", {"tiny.html": "third"}), out, tmpdir)
        assert final.returncode == 0, final.stderr
        assert _snapshot(out) == {"tiny.html": b"third"}
        assert _leftovers(out) == [] and _versions(out) == [out.resolve()]
    finally:
        if staged_root != tmp_path:
            shutil.rmtree(staged_root, ignore_errors=True)


# ------------------------------------------------------------------ messages of failed renders


def test_read_only_project_is_one_line_before_any_work(tiny, monkeypatch, capsys):
    project, out, _ = tiny
    before = _snapshot(out)
    real_open = os.open

    def read_only(path, *a, **k):
        if str(path).endswith("._output.lock"):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, *a, **k)

    monkeypatch.setattr(output.os, "open", read_only)
    code = main(["render", "--project", str(project), "--no-results", "--engine", "builtin"])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err == (f"RENDER FAILED: cannot write {project / '._output.lock'}: read-only file "
                   f"system; the previous report in {output.shown(out)}/ is unchanged")
    assert _snapshot(out) == before


@pytest.mark.slow
def test_full_disk_and_a_failing_cell_say_what_they_leave(tiny, monkeypatch, capsys):
    project, out, tmpdir = tiny
    before = _snapshot(out)
    monkeypatch.setattr(output.tempfile, "tempdir", str(tmpdir))

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(output, "_move_tree", full)
    argv = ["render", "--project", str(project), "--no-results", "--engine", "builtin"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Errno" not in err[0]
    assert err[0].startswith(f"RENDER FAILED: cannot write {out.parent / '._output.versions'}/")
    assert err[0].endswith(f": disk full; the previous report in {output.shown(out)}/ "
                           "is unchanged")
    assert _snapshot(out) == before and _leftovers(out) == [] and not _staging(tmpdir)
    assert _versions(out) == [out.resolve()]  # no partial version left in the project
    monkeypatch.undo()

    (project / "chapters" / "a.qmd").write_text("# A\n\n```{python}\n1 / 0\n```\n")
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "ZeroDivisionError" in err
    assert err.strip().endswith(f"The previous report in {output.shown(out)}/ is unchanged.")
    assert _snapshot(out) == before


# ------------------------------------------------------------------ same inputs, same bytes


@pytest.fixture(scope="session")
def clean_pair(tmp_path_factory):
    """The fixture book rendered twice into the same output folder: both snapshots."""
    out = tmp_path_factory.mktemp("clean") / "out"
    render(FIXTURE, FIXTURE / "data", "builtin", out, results=False, progress=QUIET)
    first, first_version = _snapshot(out), out.resolve()
    render(FIXTURE, FIXTURE / "data", "builtin", out, results=False, progress=QUIET)
    return out, first, _snapshot(out), first_version


@pytest.mark.slow
def test_two_clean_renders_give_identical_bytes(clean_pair):
    out, first, second, first_version = clean_pair
    assert {"fixture.docx", "fixture.pdf", "fixture.html"} <= set(first)
    for name in ("fixture.docx", "fixture.pdf", "fixture.html"):
        assert first[name] == second[name], name
    assert first == second  # every output file
    assert out.resolve() != first_version and not first_version.exists()
    assert _versions(out) == [out.resolve()] and _leftovers(out) == []


@pytest.mark.slow
def test_docx_has_fixed_dates_and_no_staging_paths(clean_pair):
    out, _, _, _ = clean_pair
    path = out / "fixture.docx"
    with zipfile.ZipFile(path) as zf:
        stamps = {i.date_time for i in zf.infolist()}
        core = zf.read("docProps/core.xml").decode()
        custom = zf.read("docProps/custom.xml").decode() if "docProps/custom.xml" in \
            zf.namelist() else ""
    assert stamps == {(2024, 1, 1, 0, 0, 0)}  # DEFAULT_EPOCH, 2024-01-01T00:00:00Z
    assert core.count(">2024-01-01T00:00:00Z<") == 2
    assert "/tmp" not in custom and "publishing-" not in custom and "references.bib" not in custom
    meta = docx.Document(str(path)).core_properties
    assert meta.created == meta.modified == datetime.fromtimestamp(DEFAULT_EPOCH, tz=UTC)
