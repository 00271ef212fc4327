"""``make bench``: how the analysis grows with n, and how fast the report rebuilds.

``python -m analysis bench [--sizes 1000,10000,100000] [--json PATH] [--no-render]
[--no-quarto]`` prints and writes (JSON, default ``.cache/bench.json``: outside the report,
removed by ``make clean``):

- per n: a synthetic trial of n patients from the trial's own generator (``data.generator``
  of its specification, see :func:`generator`), the wall time of load + validation and of the
  whole results store, each family's time,
  and the peak memory (maximum resident set size of a fresh process per n, from
  ``os.wait4``); the fitted growth exponent ``b`` of ``total = a * n**b`` (least squares on
  log time against log n);
- on a copy of the project (so the working tree and its cache are never touched), with the
  build cache on: a cold render, an unchanged rerun (plus what ``make`` adds before the
  render) and the rerun after editing one chapter's text;
- when Quarto is on PATH, a cold full-book render with each engine, one after the other in
  the same run, and their ratio.

Timings are printed and written to the JSON file only, never into a report.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

SIZES = (1_000, 10_000, 100_000)
SEED = 1
PROJECT = Path(__file__).resolve().parents[1]
JSON_PATH = PROJECT / ".cache" / "bench.json"
#: what a copy of the project leaves out (as a render's staging does)
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "_output", "._output*", ".cache",
                                     "__pycache__", ".pytest_cache", ".ruff_cache", "tests",
                                     ".quarto", "_build")
EDITED_CHAPTER = "chapters/discussion.qmd"


class NoGenerator(Exception):
    """The trial's specification declares no synthetic-data generator."""


def generator(spec=None) -> ModuleType:
    """The synthetic-data generator of the trial in use: the Python file ``data.generator`` of
    its specification (default: :func:`analysis.spec.locate.current_spec`), imported. It
    defines ``generate(n, seed)`` (tables by dataset name) and ``write(tables, folder,
    seed=seed)``. Raises :class:`NoGenerator` when the specification declares none."""
    import importlib.util

    if spec is None:
        from analysis.spec.locate import current_spec

        spec = current_spec()
    path = spec.data.generator
    if path is None:
        raise NoGenerator(f"{spec.path}: data.generator is not declared; the benchmark needs "
                          "a synthetic-data generator for the trial")
    name = f"_trial_generator_{abs(hash(str(path)))}"
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def one(n: int, seed: int = SEED, gen: ModuleType | None = None, spec=None) -> dict:
    """Generate a synthetic trial of ``n`` patients with ``gen`` (default: the trial's
    :func:`generator`), load it and compute the results store; the seconds of each step (run
    in a fresh process by :func:`measure`)."""
    from analysis.data import load_trial
    from analysis.pipeline import _modules
    from analysis.results import ResultsStore
    from analysis.spec.locate import current_spec

    spec = spec or current_spec()
    gen = gen or generator(spec)
    out: dict = {"n": n, "families": {}}
    with tempfile.TemporaryDirectory(prefix="trial-bench-") as tmp:
        t = time.perf_counter()
        tables = gen.generate(n, seed)
        gen.write(tables, Path(tmp), seed=seed)
        out["generate"] = time.perf_counter() - t
        t = time.perf_counter()
        trial = load_trial(Path(tmp), spec=spec)
        out["load"] = time.perf_counter() - t
        store = ResultsStore.empty()  # as pipeline.compute_results, one family at a time
        for mod in _modules():
            t = time.perf_counter()
            store = store.add(mod.compute(trial))
            out["families"][mod.__name__.rsplit(".", 1)[-1]] = time.perf_counter() - t
        out["results"] = sum(out["families"].values())
        out["statistics"] = len(store)
    out["total"] = out["load"] + out["results"]
    return out


def measure(n: int) -> dict:
    """:func:`one` in a fresh Python process, with its peak memory (maximum RSS)."""
    code = f"import json, analysis.bench as b; print(json.dumps(b.one({n})))"
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=PROJECT, text=True)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        raise RuntimeError(f"bench at n={n} failed:\n{err}")
    row = json.loads(out.strip().splitlines()[-1])
    row["peak_mb"] = round(usage.ru_maxrss / 1024, 1)
    row["cpu"] = usage.ru_utime + usage.ru_stime
    row["process_wall"] = wall
    return row


def exponent(ns, seconds) -> float:
    """Least-squares slope of log(seconds) on log(n): the ``b`` of ``seconds ~ n**b``.

    >>> round(exponent([10, 100, 1000], [2.0, 20.0, 200.0]), 6)
    1.0
    """
    import numpy as np

    return float(np.polyfit(np.log(ns), np.log(seconds), 1)[0])


def _in_copy(path: Path, copy: Path) -> Path:
    """``path`` inside the project copy when it lies in the project, else unchanged."""
    try:
        return copy / Path(path).resolve().relative_to(PROJECT)
    except ValueError:
        return Path(path)


def _render(project: Path, out: Path, engine: str, cache: bool) -> dict:
    """Render the project copy ``project``: the trial in use and its data folder, both taken
    inside the copy when they lie in the project."""
    from analysis.spec.locate import current_spec, data_folder, trial_path

    data = _in_copy(data_folder(current_spec()), project)
    cmd = [sys.executable, "-m", "publishing", "render", "--project", str(project),
           "--data", str(data), "--out", str(out), "--engine", engine]
    env = dict(os.environ, REPORT_CACHE="1" if cache else "0",
               REPORT_TRIAL=str(_in_copy(trial_path(), project)), REPORT_DATA=str(data))
    t = time.perf_counter()
    c0 = os.times()
    proc = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    c1 = os.times()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    cpu = c1.children_user - c0.children_user + c1.children_system - c0.children_system
    return {"wall": wall, "cpu": cpu, "log": proc.stdout.strip().splitlines()}


def make_overhead() -> float:
    """Seconds ``make`` spends before the render of ``make report`` (its ``setup`` check)."""
    if not shutil.which("make"):
        return 0.0
    t = time.perf_counter()
    subprocess.run(["make", "-s", "setup"], cwd=PROJECT, capture_output=True)
    return time.perf_counter() - t


def renders(quarto: bool = True) -> dict:
    """Cold, unchanged and one-chapter-edit renders of a project copy; both engines cold."""
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="trial-bench-render-") as tmp:
        copy = Path(tmp) / "project"
        shutil.copytree(PROJECT, copy, ignore=COPY_IGNORE)
        target = Path(tmp) / "out"
        out["builtin_cold_cached"] = _render(copy, target, "builtin", cache=True)
        out["unchanged_rerun"] = _render(copy, target, "builtin", cache=True)
        out["make_overhead"] = make_overhead()
        chapter = copy / EDITED_CHAPTER
        chapter.write_text(chapter.read_text(encoding="utf-8")
                           + "\nA sentence added by the benchmark.\n", encoding="utf-8")
        out["one_chapter_edit"] = _render(copy, target, "builtin", cache=True)
        if quarto and shutil.which("quarto"):
            chapter.write_text(chapter.read_text(encoding="utf-8").replace(
                "\nA sentence added by the benchmark.\n", ""), encoding="utf-8")
            out["builtin_cold"] = _render(copy, Path(tmp) / "b", "builtin", cache=False)
            out["quarto_cold"] = _render(copy, Path(tmp) / "q", "quarto", cache=False)
            out["quarto_over_builtin"] = out["quarto_cold"]["wall"] / out["builtin_cold"]["wall"]
    for v in out.values():
        if isinstance(v, dict):
            v["log"] = [ln for ln in v["log"] if "Reused" in ln or "reused" in ln
                        or "executing" in ln or "Published" in ln]
    return out


def table(rows: list[dict], b: float, rend: dict | None) -> str:
    """The figures as plain text."""
    lines = [f"{'n':>8}  {'load s':>7}  {'results s':>9}  {'total s':>8}  {'peak MB':>8}",
             f"{'-' * 8}  {'-' * 7}  {'-' * 9}  {'-' * 8}  {'-' * 8}"]
    for r in rows:
        lines.append(f"{r['n']:>8,}  {r['load']:>7.2f}  {r['results']:>9.2f}  "
                     f"{r['total']:>8.2f}  {r['peak_mb']:>8.0f}")
    lines.append(f"growth exponent of total time against n (log-log least squares): {b:.2f}")
    slow = max(rows, key=lambda r: r["n"])
    fam = ", ".join(f"{k} {v:.1f}" for k, v in sorted(slow["families"].items(),
                                                      key=lambda kv: -kv[1]))
    lines.append(f"families at n={slow['n']:,} (s): {fam}")
    if rend:
        def w(k):
            return f"{rend[k]['wall']:.1f} s wall, {rend[k]['cpu']:.1f} s CPU"
        lines.append(f"render, cold, cache on (builtin): {w('builtin_cold_cached')}")
        u = rend["unchanged_rerun"]["wall"] + rend["make_overhead"]
        lines.append(f"unchanged rerun: {rend['unchanged_rerun']['wall']:.2f} s + make "
                     f"{rend['make_overhead']:.2f} s = {u:.2f} s")
        lines.append(f"one-chapter edit ({EDITED_CHAPTER}): {w('one_chapter_edit')}")
        if "quarto_cold" in rend:
            lines.append(f"full book, cold: builtin {w('builtin_cold')}; "
                         f"quarto {w('quarto_cold')}; "
                         f"quarto/builtin wall = {rend['quarto_over_builtin']:.1f}x")
        else:
            lines.append("Quarto not on PATH: engine comparison skipped")
    return "\n".join(lines)


def main(sizes=SIZES, json_path: Path | str | None = JSON_PATH, render: bool = True,
         quarto: bool = True) -> int:
    """Run the benchmark, print the table, write the JSON file (exit code 2, with a message,
    when the trial has no synthetic-data generator)."""
    try:
        generator()
    except NoGenerator as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    rows = []
    for n in sizes:
        print(f"analysis at n={n:,} ...", flush=True)
        rows.append(measure(n))
        r = rows[-1]
        print(f"  load {r['load']:.2f} s, results {r['results']:.2f} s, total {r['total']:.2f} s,"
              f" peak {r['peak_mb']:.0f} MB", flush=True)
    b = exponent([r["n"] for r in rows], [r["total"] for r in rows]) if len(rows) > 1 \
        else float("nan")
    rend = None
    if render:
        print("renders (project copy) ...", flush=True)
        rend = renders(quarto)
    print(table(rows, b, rend))
    if json_path:
        path = Path(json_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"sizes": rows, "exponent": None if math.isnan(b) else b, "renders": rend,
               "cpus": os.cpu_count(), "python": sys.version.split()[0]}
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(doc, indent=1), encoding="utf-8")
        os.replace(tmp, path)
        print(f"written to {path}")
    return 0
