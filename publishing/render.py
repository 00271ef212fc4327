"""``python -m publishing render``: compute the results, render the book, publish atomically.

1. The output folder is locked (:func:`publishing.output.lock`): a second render of the same
   folder stops at once with "another render of _output is running (pid N)".
2. The project (chapters, ``_quarto.yml``, bibliography...) is copied into a staging folder
   (``$TMPDIR/publishing-<pid>-*``, removed afterwards; one left by a killed render is removed by
   the next); nothing in the working tree is written during a render.
3. Pre-step: ``python -m analysis results --data DATA --out <staging>/out`` writes the results
   store, tables and figures; ``REPORT_RESULTS`` points the chapter kernels at that store.
4. The engine (Quarto >= 1.10 if on PATH, else the built-in one) renders into
   ``<staging>/out``, with the page marks of :mod:`publishing.notice`. DOCX files are made
   deterministic (:mod:`publishing.officezip`, dated ``$SOURCE_DATE_EPOCH``).
5. Only when everything succeeded, ``<staging>/out`` becomes a new version of the output folder
   and the output folder's symlink is switched to it in one rename
   (:func:`publishing.output.publish`). On failure the previous report is unchanged, the exit
   status is non-zero, and the message says so.

The trial is ``trial`` (``--trial``), else ``$REPORT_TRIAL``, else the project's default
(:func:`publishing.trial.resolve`); the data folder is ``data``, else ``$REPORT_DATA``, else the
specification's ``data.folder``. The staged book is configured for that trial
(:func:`publishing.trial.select`: title, authors and output name from the specification;
chapters and ``.when`` divs whose conditions fail are left out), and a cross-reference to a
label left out fails the build before anything is executed.

Kernels get ``REPORT_TRIAL`` and ``REPORT_DATA`` (absolute), ``REPORT_RESULTS`` and
``REPORT_ENGINE`` (the engine and its versions, for the reproducibility appendix).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from analysis.validation import check_metadata
from publishing import book as bookmod
from publishing import builtin, cache, notice, officezip, output, quarto
from publishing import trial as trialmod
from publishing.environment import scoped_environ

IGNORE = shutil.ignore_patterns(".git", ".venv", "_output", "_build", ".quarto", "__pycache__",
                                ".pytest_cache", ".ruff_cache", ".cache", "tests", "data",
                                "*.pyc")


class RenderError(RuntimeError):
    """A render failed; the message says where."""


def choose_engine(requested: str, progress=None) -> tuple[str, str | None, dict[str, str]]:
    """``(engine, quarto_exe, versions)`` for ``auto``, ``quarto`` or ``builtin``.

    ``auto`` takes a Quarto in :data:`publishing.quarto.SUPPORTED` from PATH, else the built-in
    engine; a Quarto that is too old gets one line through ``progress`` saying so. ``quarto``
    with no Quarto, or one that is too old, is a :class:`RenderError`.
    """
    if requested not in ("auto", "quarto", "builtin"):
        raise RenderError(f"unknown engine {requested!r} (auto, quarto or builtin)")
    found = quarto.found() if requested in ("auto", "quarto") else None
    if found and not quarto.supported(found[1]):
        line = quarto.too_old(*found)
        if requested == "quarto":
            raise RenderError(f"--engine quarto: {line}")
        if progress:
            progress(f"{line}: using the built-in engine instead")
        found = None
    if requested == "quarto" and not found:
        exe = quarto.find()
        why = f"{exe} does not report its version" if exe else "not on PATH"
        raise RenderError(f"--engine quarto: Quarto is {why} (supported: Quarto "
                          f"{quarto.SUPPORTED})")
    if found:
        exe, v = found
        versions = {"quarto": ".".join(map(str, v)), **quarto.bundled_versions(exe),
                    "python": sys.version.split()[0]}
        return "quarto", exe, versions
    return "builtin", None, builtin.versions()


def describe(engine: str, versions: dict[str, str]) -> str:
    """E.g. ``builtin (pandoc 3.9, typst 0.15.2, python 3.11.9, ...)``."""
    return f"{engine} (" + ", ".join(f"{k} {v}" for k, v in versions.items()) + ")"


def stage_project(project: Path, dest: Path, exclude: tuple[str, ...] | list[str] = ()) -> Path:
    """Copy the book's sources (not outputs, data, tests, venv or git, nor the names matching
    ``exclude``) into ``dest``; the first failed write raises its :class:`OSError`."""
    extra = shutil.ignore_patterns(*exclude)

    def ignore(folder, names):
        return set(IGNORE(folder, names)) | set(extra(folder, names))

    return output.copy_tree(project, dest, ignore=ignore)


def publish(staged: Path, final: Path, progress=print) -> Path:
    """Make ``staged`` the report in ``final``: :func:`publishing.output.publish`."""
    return output.publish(staged, final, progress)


def out_path(project: Path, out: Path | str | None, output_dir: str) -> Path:
    """The output folder, absolute but not resolved: ``_output`` stays the symlink."""
    return Path(os.path.abspath(out)) if out else project / output_dir


def _excluded(project: Path, final: Path) -> list[str]:
    """The output folder's own names when it lies in the project (never staged)."""
    return output.layout(final).names() if final.parent == project else []


def as_failure(err: Exception, final: Path, staging: Path | None) -> Exception:
    """The exception to raise for ``err``: one line for a full disk or an unwritable folder;
    otherwise ``err`` with a note saying what the output folder holds now."""
    if isinstance(err, output.OutputError):
        return err
    if output.is_write_failure(err):
        return output.OutputError(output.describe(err, final))
    if staging is not None and "No space left on device" in str(err):  # a child process
        return output.OutputError(f"cannot write {staging}: disk full; {output.state(final)}")
    now = output.state(final)
    err.__notes__ = [now[0].upper() + now[1:] + "."]  # the outermost render's state only
    return err


def resolve_inputs(project: Path, data, trial) -> tuple[Path | None, object, Path]:
    """``(specification file, specification, data folder)`` of a command: the trial given,
    ``$REPORT_TRIAL`` or the project's default (None for a book with no trial); the data
    given, ``$REPORT_DATA`` or the specification's ``data.folder`` (else ``project/data/
    synthetic``)."""
    path = trialmod.resolve(project, trial)
    spec = trialmod.load(path)
    folder = trialmod.data_folder(spec, data) or project / "data" / "synthetic"
    return path, spec, folder


def stage_book(project: Path, dest: Path, spec, data: Path, exclude=(),
               progress=print) -> tuple[Path, trialmod.Selection]:
    """Stage the project (:func:`stage_project`) and configure the staged book for the trial
    (:func:`publishing.trial.select`); a cross-reference to a label left out is a
    :class:`publishing.trial.TrialError` naming the chapter and the label."""
    staged = stage_project(project, dest, exclude)
    sel = trialmod.select(staged, spec, trialmod.available_datasets(data),
                          trialmod.declared_synthetic(data), progress)
    dangling = trialmod.dangling_references(staged, sel)
    if dangling:
        raise trialmod.missing_reference_error(dangling)
    return staged, sel


def run_results(project: Path, data: Path, out: Path, build: cache.Build | None = None,
                progress=print) -> None:
    """The statistics pre-step, in its own process; reused from the build cache when its
    inputs (data, specification, analysis code, environment) are unchanged."""

    def compute(out: Path) -> None:
        cmd = [sys.executable, "-m", "analysis", "results", "--data", str(data), "--out",
               str(out)]
        proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RenderError(f"results pre-step failed: {' '.join(cmd)}\n{proc.stdout}"
                              f"{proc.stderr}")
        if proc.stdout.strip():
            progress("  " + proc.stdout.strip())

    if build is None:
        compute(out)
    else:
        build.results(out, compute, progress)


def render(project: Path | str = ".", data: Path | str | None = None, engine: str = "auto",
           out: Path | str | None = None, results: bool = True, progress=print,
           use_cache: bool | None = None, trial: Path | str | None = None) -> list[Path]:
    """Render the book at ``project`` for ``trial`` with ``data`` (defaults: see the module
    docstring); publish to ``out`` (default: the project's output dir). Returns the
    published files; raises on failure (the error's message or note says what the output
    folder holds). ``use_cache`` (default ``$REPORT_CACHE == "1"``; ``make report`` sets it)
    reuses what the build cache (:mod:`publishing.cache`) holds for unchanged inputs."""
    t0 = time.perf_counter()
    project = Path(project).resolve()
    book = bookmod.load(project)
    spec_path, spec, data = resolve_inputs(project, data, trial)
    final = out_path(project, out, book.output_dir)
    name, exe, versions = choose_engine(engine, progress)
    label = describe(name, versions)
    progress(f"Engine: {label}")
    if spec_path is not None:
        progress(f"Trial: {spec.identity.short_name} ({spec_path})")
    progress(f"Data: {data}")
    check_metadata(data)  # dataset.yaml: a named rule and line before anything reads it
    marks = notice.marks(data, spec=spec)
    if marks:
        progress("Page marks: " + " | ".join(marks))
    epoch = officezip.source_date_epoch()

    tmp = None
    try:
        with output.lock(final), output.staging("publishing-") as tmp, \
                scoped_environ(("REPORT_DATA", "REPORT_RESULTS", "REPORT_ENGINE",
                                "REPORT_TRIAL", "SOURCE_DATE_EPOCH")):
            staged_out = tmp / "out"
            staged_out.mkdir()
            os.environ["REPORT_DATA"] = str(data)
            if spec_path is not None:
                os.environ["REPORT_TRIAL"] = str(spec_path)
            os.environ["REPORT_ENGINE"] = label
            os.environ["SOURCE_DATE_EPOCH"] = str(epoch)  # pandoc and typst date their files
            build = cache.Build(cache.for_project(project, use_cache, progress), project, data,
                                name, label, marks, results, _excluded(project, final),
                                spec_path)
            reused = build.reuse(staged_out, final)
            if reused == "unchanged":
                progress(f"Reused everything (no input changed): {output.shown(final)}/ is "
                         f"up to date ({time.perf_counter() - t0:.1f} s)")
                return [final / f for f in build.files]
            if reused is None:
                if results:
                    progress("Computing results (python -m analysis results)")
                    run_results(project, data, staged_out, build, progress)
                    os.environ["REPORT_RESULTS"] = str(staged_out / "results.csv")
                output.fault("after-results")
                staged, sel = stage_book(project, tmp / "project", spec, data,
                                         _excluded(project, final), progress)
                sbook = bookmod.load(staged)
                assets = notice.write_assets(marks, tmp / "assets")
                progress(f"Rendering {len(sbook.chapters)} chapters")
                if name == "quarto":  # cached as a whole render only (see publishing.cache)
                    files = quarto.render(exe, staged, staged_out, assets, progress,
                                          removed=sel.removed)
                else:
                    files = builtin.render(sbook, staged_out, tmp / "work", assets, progress,
                                           build.cache, build.chapters, removed=sel.removed)
                output.fault("after-engine")
                for docx in sorted(staged_out.rglob("*.docx")):
                    officezip.normalise(docx, epoch)
                build.store(staged_out, files)
            else:
                progress("Reused everything (no input changed); publishing the cached report")
                files = [staged_out / f for f in build.files]
            publish(staged_out, final, progress)
    except Exception as err:
        failure = as_failure(err, final, tmp)
        if failure is err:
            raise
        raise failure from None
    published = [final / f.name for f in files]
    progress(f"Published to {final} in {time.perf_counter() - t0:.1f} s:")
    for f in published:
        progress(f"  {f}")
    return published


def results_only(project: Path | str = ".", data: Path | str | None = None,
                 out: Path | str | None = None, progress=print,
                 trial: Path | str | None = None) -> Path:
    """``make results``: the results store, tables and figures, published into ``out`` (the
    project's output folder by default) as a new complete version, like a render."""
    project = Path(project).resolve()
    spec_path, _, data = resolve_inputs(project, data, trial)
    final = out_path(project, out, bookmod.load(project).output_dir)
    tmp = None
    try:
        with output.lock(final), output.staging("publishing-") as tmp, \
                scoped_environ(("REPORT_TRIAL",)):
            if spec_path is not None:
                os.environ["REPORT_TRIAL"] = str(spec_path)
            staged_out = tmp / "out"
            staged_out.mkdir()
            run_results(project, data, staged_out)
            publish(staged_out, final, progress)
        progress(f"Published to {final}")
    except Exception as err:
        failure = as_failure(err, final, tmp)
        if failure is err:
            raise
        raise failure from None
    return final
