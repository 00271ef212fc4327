"""``python -m publishing render``: compute the results, render the book, publish atomically.

1. The project (chapters, ``_quarto.yml``, bibliography...) is copied into a staging folder;
   nothing in the working tree is written during a render.
2. Pre-step: ``python -m analysis results --data DATA --out <staging>/out`` writes the results
   store, tables and figures; ``RESPINE_RESULTS`` points the chapter kernels at that store.
3. The engine (Quarto >= 1.5 if on PATH, else the built-in one) renders into
   ``<staging>/out``, with the page marks of :mod:`publishing.notice`.
4. Only when everything succeeded, ``<staging>/out`` replaces the output folder. On failure the
   previous output is untouched and the exit status is non-zero.

Kernels get ``RESPINE_DATA`` (absolute), ``RESPINE_RESULTS`` and ``RESPINE_ENGINE`` (the engine
and its versions, for the reproducibility appendix).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from publishing import book as bookmod
from publishing import builtin, notice, quarto
from publishing.environment import scoped_environ

IGNORE = shutil.ignore_patterns(".git", ".venv", "_output", "_build", ".quarto", "__pycache__",
                                ".pytest_cache", ".ruff_cache", ".cache", "tests", "data",
                                "*.pyc")


class RenderError(RuntimeError):
    """A render failed; the message says where."""


def choose_engine(requested: str) -> tuple[str, str | None, dict[str, str]]:
    """``(engine, quarto_exe, versions)`` for ``auto``, ``quarto`` or ``builtin``."""
    if requested not in ("auto", "quarto", "builtin"):
        raise RenderError(f"unknown engine {requested!r} (auto, quarto or builtin)")
    found = quarto.usable() if requested in ("auto", "quarto") else None
    if requested == "quarto" and not found:
        exe = quarto.find()
        why = "not on PATH" if not exe else f"older than {'.'.join(map(str, quarto.MINIMUM))}"
        raise RenderError(f"--engine quarto: Quarto is {why}")
    if found:
        exe, v = found
        versions = {"quarto": ".".join(map(str, v)), **quarto.bundled_versions(exe),
                    "python": sys.version.split()[0]}
        return "quarto", exe, versions
    return "builtin", None, builtin.versions()


def describe(engine: str, versions: dict[str, str]) -> str:
    """E.g. ``builtin (pandoc 3.9, typst 0.15.2, python 3.11.9, ...)``."""
    return f"{engine} (" + ", ".join(f"{k} {v}" for k, v in versions.items()) + ")"


def stage_project(project: Path, dest: Path) -> Path:
    """Copy the book's sources (not outputs, data, tests, venv or git) into ``dest``."""
    shutil.copytree(project, dest, ignore=IGNORE, symlinks=True)
    return dest


def publish(staged: Path, final: Path) -> None:
    """Replace ``final`` by ``staged`` (a rename where the filesystem allows)."""
    final = final.resolve()
    final.parent.mkdir(parents=True, exist_ok=True)
    new = final.parent / f".{final.name}.new"
    old = final.parent / f".{final.name}.old"
    for p in (new, old):
        if p.exists():
            shutil.rmtree(p)
    shutil.move(str(staged), new)
    if final.exists():
        final.rename(old)
    new.rename(final)
    if old.exists():
        shutil.rmtree(old)


def run_results(project: Path, data: Path, out: Path) -> None:
    """The statistics pre-step, in its own process."""
    cmd = [sys.executable, "-m", "analysis", "results", "--data", str(data), "--out", str(out)]
    proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RenderError(f"results pre-step failed: {' '.join(cmd)}\n{proc.stdout}"
                          f"{proc.stderr}")
    if proc.stdout.strip():
        print("  " + proc.stdout.strip())


def render(project: Path | str = ".", data: Path | str | None = None, engine: str = "auto",
           out: Path | str | None = None, results: bool = True, progress=print) -> list[Path]:
    """Render the book at ``project`` with ``data``; publish to ``out`` (default: the
    project's output dir). Returns the published files; raises on failure."""
    t0 = time.perf_counter()
    project = Path(project).resolve()
    book = bookmod.load(project)
    data = Path(data or os.environ.get("RESPINE_DATA") or project / "data" / "synthetic")
    data = data if data.is_absolute() else (Path.cwd() / data)
    final = Path(out).resolve() if out else project / book.output_dir
    name, exe, versions = choose_engine(engine)
    label = describe(name, versions)
    progress(f"Engine: {label}")
    progress(f"Data: {data}")
    marks = notice.marks(data)
    if marks:
        progress("Page marks: " + " | ".join(marks))

    with tempfile.TemporaryDirectory(prefix="publishing-") as tmp, \
            scoped_environ(("RESPINE_DATA", "RESPINE_RESULTS", "RESPINE_ENGINE")):
        tmp = Path(tmp)
        staged_out = tmp / "out"
        staged_out.mkdir()
        os.environ["RESPINE_DATA"] = str(data)
        os.environ["RESPINE_ENGINE"] = label
        if results:
            progress("Computing results (python -m analysis results)")
            run_results(project, data, staged_out)
            os.environ["RESPINE_RESULTS"] = str(staged_out / "results.csv")
        staged = stage_project(project, tmp / "project")
        sbook = bookmod.load(staged)
        assets = notice.write_assets(marks, tmp / "assets")
        progress(f"Rendering {len(sbook.chapters)} chapters")
        if name == "quarto":
            files = quarto.render(exe, staged, staged_out, assets, progress)
        else:
            files = builtin.render(sbook, staged_out, tmp / "work", assets, progress)
        publish(staged_out, final)
    published = [final / f.name for f in files]
    progress(f"Published to {final} in {time.perf_counter() - t0:.1f} s:")
    for f in published:
        progress(f"  {f}")
    return published
