"""Chapter kernels (publishing/kernel.py): shut down after their chapter, no connection files
left anywhere, dead runs' folders swept, parallel runs in the order asked."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from publishing import kernel, output, qmd


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """TMPDIR (as tempfile sees it) is an empty folder of this test."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


def _doc(folder: Path, name: str, body: str) -> qmd.Document:
    path = folder / name
    path.write_text(body)
    return qmd.read(path)


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


PID_CHAPTER = "# A\n\n```{python}\nimport os\npid = os.getpid()\n```\n\nPid `{python} pid`.\n"


def test_kernel_is_shut_down_and_leaves_nothing_in_tmpdir(private_tmp, tmp_path):
    run = kernel.execute(_doc(tmp_path, "a.qmd", PID_CHAPTER), {})
    pid = int(run.inline[0])
    assert pid != os.getpid() and _gone(pid)
    assert list(private_tmp.iterdir()) == []  # no tmp*.json, no runtime folder


def test_a_failing_cell_also_leaves_nothing_behind(private_tmp, tmp_path):
    doc = _doc(tmp_path, "b.qmd", "# B\n\n```{python}\n#| label: boom\nimport os\n"
               "open('pid.txt', 'w').write(str(os.getpid()))\nraise ValueError('x')\n```\n")
    with pytest.raises(kernel.CellError) as err:
        kernel.execute(doc, {})
    assert err.value.label == "boom" and "ValueError" in err.value.traceback
    assert _gone(int((tmp_path / "pid.txt").read_text()))
    assert list(private_tmp.iterdir()) == []


def test_next_run_removes_only_the_runtime_folders_of_dead_runs(private_tmp):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = private_tmp / f"{kernel.RUNTIME_PREFIX}{dead.pid}-abcd"
    (left / "k-1").mkdir(parents=True)
    (left / "k-1" / "kernel.json").write_text("{}")
    (left / output.STAGING_MARK).write_text(f"{dead.pid}\n")
    alive = private_tmp / f"{kernel.RUNTIME_PREFIX}{os.getppid()}-efgh"  # a live process's
    alive.mkdir()
    (alive / output.STAGING_MARK).write_text(f"{os.getppid()}\n")
    unmarked = private_tmp / f"{kernel.RUNTIME_PREFIX}{dead.pid}-ijkl"  # not provably ours
    unmarked.mkdir()
    with kernel.runtime_dir() as mine:
        assert mine.parent == private_tmp and mine.name.startswith(
            f"{kernel.RUNTIME_PREFIX}{os.getpid()}-")
    assert not left.exists() and not mine.exists()
    assert alive.exists() and unmarked.exists()


def test_parallel_runs_come_back_in_the_order_asked(private_tmp, tmp_path):
    go = tmp_path / "go"
    # the first document cannot finish before the second one has (its done() creates `go`)
    slow = _doc(tmp_path, "slow.qmd", "# S\n\n```{python}\nimport os, time\nt = time.time()\n"
                f"while not os.path.exists({str(go)!r}) and time.time() - t < 120:\n"
                "    time.sleep(0.05)\nx = 'slow'\n```\n\n`{python} x`\n")
    fast = [_doc(tmp_path, f"f{i}.qmd", f"# F\n\n`{{python}} {i} * 10`\n") for i in range(2)]
    finished = []

    def done(i, seconds, run):
        finished.append(i)
        go.touch()

    runs = asyncio.run(kernel.execute_many(
        [(slow, "slow"), (fast[0], "f0"), (fast[1], "f1")], {}, workers=2, done=done))
    assert [r.inline for r in runs] == [["slow"], ["0"], ["10"]]
    assert finished.index(1) < finished.index(0) and sorted(finished) == [0, 1, 2]
    serial = [kernel.execute(d, {}).inline for d in fast]
    assert serial == [["0"], ["10"]]
    assert list(private_tmp.iterdir()) == []


@pytest.mark.slow
def test_a_killed_render_leaves_kernel_files_that_the_next_render_removes(tmp_path):
    import signal

    project = tmp_path / "book"
    (project / "chapters").mkdir(parents=True)
    (project / "_quarto.yml").write_text(
        "book:\n  title: K\n  output-file: k\n  chapters:\n    - chapters/a.qmd\n")
    ready = tmp_path / "ready"
    (project / "chapters" / "a.qmd").write_text(
        "# A\n\n```{python}\nimport os, pathlib, time\n"
        f"if os.environ.get('HOLD'):\n    pathlib.Path({str(ready)!r}).touch()\n"
        "    time.sleep(300)\n```\n\nDone.\n")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    cmd = [sys.executable, "-m", "publishing", "render", "--project", str(project),
           "--no-results", "--engine", "builtin", "--out", str(tmp_path / "out")]
    env = dict(os.environ, TMPDIR=str(tmp), MPLBACKEND="Agg")
    first = subprocess.Popen(cmd, env=dict(env, HOLD="1"), start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not ready.exists():
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the render and its kernel
        first.wait()
    left = list(tmp.glob(f"{kernel.RUNTIME_PREFIX}{first.pid}-*"))
    assert len(left) == 1 and list(left[0].rglob("kernel.json"))
    nxt = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert nxt.returncode == 0, nxt.stderr
    assert not list(tmp.glob(f"{kernel.RUNTIME_PREFIX}*")) and not list(tmp.glob("tmp*.json"))


def test_an_empty_inline_value_is_an_error(tmp_path):
    # Quarto keeps `{python} x` as code when x is "": the built-in engine refuses it instead
    doc = _doc(tmp_path, "e.qmd", "# E\n\n```{python}\nx = ''\ny = 'ok'\n```\n\n"
               "A `{python} y` and `{python} x`.\n")
    with pytest.raises(kernel.CellError) as err:
        kernel.execute(doc, {})
    assert err.value.label == "inline `{python} x`" and "empty text" in err.value.traceback
