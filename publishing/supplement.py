"""``python -m publishing supplement``: the journal supplement and one deterministic zip of it.

Writes ``<out>/supplement/`` and ``<out>/online-supplement.zip`` (``-blinded`` in blinded
mode); ``<out>`` defaults to the project's output folder (``_output``):

- ``online-supplement.pdf`` / ``.docx``: the supplementary document, the Quarto book in
  ``supplement/`` rendered by the same engine as the report;
- ``figures/``: every figure as vector PDF, SVG and 600 dpi LZW TIFF sized for a journal column
  (:mod:`publishing.figure_export`);
- ``tables/``: every table as CSV and XLSX, with the data dictionary and the CONSORT 2025
  checklist (:mod:`publishing.checklist`);
- ``results/``: the results store as CSV and JSON;
- ``manifest.json``: SHA-256 of every input data file and output file, Python and package
  versions (from ``requirements.lock``), git commit and whether the tree was clean, engine;
- ``README.md`` for the editor.

Everything is built in a temporary folder and published only when complete, as a new version
of the output folder (a copy of the report there plus the supplement, switched in one rename:
:mod:`publishing.output`); the output folder is locked meanwhile. Same inputs give
the same bytes: sorted zip entries, fixed timestamps (``$SOURCE_DATE_EPOCH``, default
:data:`DEFAULT_EPOCH`), no clock or absolute path in any file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from publishing import cache, output
from publishing import provenance as prov
from publishing.environment import scoped_environ
from publishing.officezip import DEFAULT_EPOCH, source_date_epoch  # noqa: F401 (re-exported)
from publishing.officezip import normalise as normalise_office

NAME = "online-supplement"


def supplement_key(project: Path, data: Path, spec_path, label: str, blinded: bool,
                   epoch: int) -> str:
    """What the supplement depends on: the statistics' inputs, every project file (code,
    chapters, supplement sources), the trial's text, the engine, the blinding, the date and
    the git state its manifest records."""
    return cache.key({"level": "supplement",
                      "inputs": cache.inputs_key(project, data, cache.environment(project),
                                                 spec_path),
                      "project": cache.tree_digest(project, cache.SKIP_DIRS, hidden=False),
                      "trial-text": cache.trial_digest(spec_path, data, text=True),
                      "engine": label, "blinded": blinded, "epoch": epoch,
                      "git": git_state(project)})


def iso_date(epoch: int) -> str:
    """``YYYY-MM-DD`` (UTC) of ``epoch``."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d")


def zip_name(blinded: bool) -> str:
    return f"{NAME}{'-blinded' if blinded else ''}.zip"


# ------------------------------------------------------------------ deterministic files


def _zip_time(epoch: int) -> tuple:
    return time.gmtime(epoch)[:6]


def write_zip(folder: Path, dest: Path, epoch: int, prefix: str = "") -> Path:
    """Zip ``folder`` into ``dest``: entries sorted, fixed times and permissions, deflate 9."""
    files = sorted((p for p in folder.rglob("*") if p.is_file()),
                   key=lambda p: p.relative_to(folder).as_posix())
    with zipfile.ZipFile(dest, "w") as zf:
        for p in files:
            info = zipfile.ZipInfo(prefix + p.relative_to(folder).as_posix(), _zip_time(epoch))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            info.create_system = 3
            zf.writestr(info, p.read_bytes(), compresslevel=9)
    return dest


def write_table(df, stem: Path, epoch: int, note: str | None = None) -> list[Path]:
    """``stem.csv`` and a deterministic ``stem.xlsx`` of a DataFrame, as the report's tables
    (:func:`analysis.export.write_table`: text never a formula, numbers as numbers)."""
    from analysis.export import write_table as export_table

    return export_table(df, stem, note=note, epoch=epoch)


# ------------------------------------------------------------------ provenance


def git_state(project: Path) -> dict:
    """``{"commit": sha or None, "clean": bool or None}`` of the project's git tree."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=project,
                               capture_output=True, text=True, check=True).stdout.strip()
        return {"commit": sha, "clean": not dirty}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "clean": None}


def package_table() -> list[dict]:
    """Every package pinned in ``requirements.lock``: locked and installed versions."""
    from importlib.metadata import PackageNotFoundError, version

    rows = []
    for name, locked in sorted(prov.locked_versions().items(), key=lambda kv: kv[0].lower()):
        try:
            inst = version(name)
        except PackageNotFoundError:
            inst = None
        rows.append({"package": name, "locked": locked, "installed": inst})
    return rows


def manifest(stage: Path, data: Path, project: Path, engine: str, epoch: int,
             blinded: bool, spec=None) -> dict:
    """The provenance manifest of the files in ``stage`` (every file but the manifest);
    ``spec``: the trial's specification (its name goes into the title)."""
    info = prov.dataset_info(data)
    packages = package_table()
    outputs = [{"file": p.relative_to(stage).as_posix(), "bytes": p.stat().st_size,
                "sha256": prov.sha256(p)}
               for p in sorted(stage.rglob("*"), key=lambda p: p.relative_to(stage).as_posix())
               if p.is_file() and p.name != "manifest.json"]
    return {
        "manifest_version": 1,
        "title": f"{_trial_name(spec)}: supplementary material",
        "date": iso_date(epoch),
        "source_date_epoch": epoch,
        "blinded": blinded,
        "data": {
            "folder": prov.display_path(data),
            "name": info.get("name") or data.name,
            "synthetic": bool(info.get("synthetic", False)),
            "folder_sha256": prov.folder_digest(data),
            "files": [{"file": r.File, "bytes": int(r.Bytes), "sha256": r._3}
                      for r in prov.data_files(data).itertuples()],
        },
        "software": {
            "python": prov.python_version(),
            "engine": engine,
            "installed_matches_lock": all(p["installed"] == p["locked"] for p in packages),
            "packages": packages,
        },
        "code": git_state(project),
        "outputs": outputs,
    }


def _trial_name(spec) -> str:
    """``"<short name> randomised trial"`` of the specification (``"Randomised trial"``)."""
    short = getattr(getattr(spec, "identity", None), "short_name", None)
    return f"{short} randomised trial" if short else "Randomised trial"


README = """\
# {trial}: supplementary material{blind}

Supplement to the {short}report{title}, built {date} by
`make supplement` from the data folder `{data}`.
{notice}
## Contents

- `{name}.pdf`, `{name}.docx`: the supplementary document (outcomes at every visit, every
  sensitivity analysis, mixed-model details, complete adverse-event tables and SAE listing,
  data dictionary, CONSORT 2025 checklist);
- `figures/`: {n_fig} figures, each as vector PDF and SVG and as TIFF (600 dpi, LZW)
  {cols}; fonts embedded;
- `tables/`: {n_tab} tables, each as CSV and XLSX, including the data dictionary and the
  CONSORT 2025 checklist;
- `results/`: the results store ({n_stats} statistics, one row each) as CSV and JSON;
- `manifest.json`: SHA-256 of every input data file and every file here; Python, package and
  engine versions; git commit.

Every number in the report and in this supplement is read from the results store. To check a
file, compare its SHA-256 with `manifest.json`; `make verify` rebuilds everything from the data
in a temporary folder and compares the checksums.
"""


def readme(stage: Path, data: Path, epoch: int, blinded: bool, synthetic: bool,
           n_stats: int, columns: dict[str, str], spec=None) -> str:
    figs = {p.stem for p in (stage / "figures").glob("*.tiff")}
    tabs = {p.stem for p in (stage / "tables").glob("*.csv")}
    kinds = sorted(set(columns.values()))
    cols = " / ".join(f"{k} column ({'85' if k == 'single' else '175'} mm)" for k in kinds)
    notice = ""
    if synthetic:
        notice += ("\n**SYNTHETIC DATA**: generated data calibrated to the published results; "
                   "no number here describes real patients.\n")
    if blinded:
        notice += ("\n**BLINDED**: the arms are masked as Group A and Group B; the key is not "
                   "part of this supplement.\n")
    idn = getattr(spec, "identity", None)
    short = f"{idn.short_name} trial " if idn is not None else "trial "
    title = f" ({' '.join(idn.title.split())})" if idn is not None and idn.title else ""
    return README.format(trial=_trial_name(spec), short=short, title=title,
                         blind=" (BLINDED)" if blinded else "", date=iso_date(epoch),
                         data=prov.display_path(data), notice=notice, name=NAME,
                         n_fig=len(figs), n_tab=len(tabs), cols=f"sized for a {cols}",
                         n_stats=n_stats)


# ------------------------------------------------------------------ build


def _analysis_outputs(trial, stage: Path, epoch: int, project: Path, blinded: bool,
                      progress) -> tuple[int, dict[str, str]]:
    """Results store, tables and figures of every family into ``stage``."""
    import matplotlib.pyplot as plt

    from analysis.export import SYNTHETIC_NOTE
    from analysis.pipeline import collect_tables, compute_results, iter_figures
    from publishing import checklist, figure_export

    store = compute_results(trial)
    (stage / "results").mkdir(parents=True)
    store.to_csv(stage / "results" / "results.csv")
    store.to_json(stage / "results" / "results.json")
    note = SYNTHETIC_NOTE if getattr(trial, "synthetic", False) else None
    for name, df in collect_tables(trial, store).items():
        write_table(df, stage / "tables" / name, epoch, note=note)
    columns = {}
    for name, fig in iter_figures(trial, store):
        columns[name] = figure_export.column(fig)
        figure_export.export(fig, stage / "figures" / name)
        plt.close(fig)
    progress(f"  {len(store)} statistics, {len(list((stage / 'tables').glob('*.csv')))} tables,"
             f" {len(columns)} figures")
    import sys

    sys.path.insert(0, str(project / "supplement"))
    try:
        import supptables
    finally:
        sys.path.pop(0)
    from analysis.data import dictionary_table

    write_table(supptables.masked_text(dictionary_table()), stage / "tables" / "data_dictionary",
                epoch)
    write_table(supptables.notes(), stage / "tables" / "dataset_notes", epoch)
    cl = checklist.checklist(project)
    write_table(cl, stage / "tables" / "consort2025_checklist", epoch)
    missing = checklist.unaddressed(cl)
    progress(f"  CONSORT 2025: {len(cl) - len(missing)}/{len(cl)} items addressed"
             + (f"; not addressed: {', '.join(missing)}" if missing else ""))
    return len(store), columns


def _next_version(current: Path, stage: Path, zpath: Path, dest: Path) -> Path:
    """``dest``: a copy of the report in ``current`` (if any) without its old supplement,
    with ``stage`` as ``supplement/`` and the zip ``zpath`` beside it."""
    if current.is_dir():
        output.copy_tree(current.resolve(), dest, ignore=shutil.ignore_patterns(
            "supplement", f"{NAME}*.zip"))
    else:
        dest.mkdir(parents=True)
    shutil.move(str(stage), dest / "supplement")
    shutil.move(str(zpath), dest / zpath.name)
    return dest


def build(project: Path | str = ".", data: Path | str | None = None, engine: str = "auto",
          out: Path | str | None = None, progress=print,
          trial: Path | str | None = None) -> Path:
    """Build the supplement of ``project`` from ``data``; publish into ``out`` (default: the
    project's output folder) as a new version: the report there plus ``supplement/`` and the
    zip. Returns the zip's path; raises on failure (the message or note says what ``out``
    holds)."""
    from analysis import blinding
    from publishing import book as bookmod
    from publishing import render as rendermod

    t0 = time.perf_counter()
    project = Path(project).resolve()
    spec_path, _spec, data = rendermod.resolve_inputs(project, data, trial)
    data = data.resolve()
    final = rendermod.out_path(project, out, bookmod.load(project).output_dir)
    blinded = blinding.is_blinded()
    blinding.check()  # refuse now, with the clear message, if blinded without a key
    epoch = source_date_epoch()
    name, _exe, versions = rendermod.choose_engine(engine)
    label = rendermod.describe(name, versions)
    progress(f"Supplement: data {data}, engine {label}"
             + (", BLINDED" if blinded else "") + f", date {iso_date(epoch)}")

    keys = ("REPORT_DATA", "REPORT_RESULTS", "REPORT_PROJECT", "REPORT_TRIAL",
            "SOURCE_DATE_EPOCH")
    store = cache.for_project(project, None, progress)  # REPORT_CACHE=1 (make report)
    skey = (supplement_key(project, data, spec_path, label, blinded, epoch)
            if store is not None else "")
    target = final / zip_name(blinded)
    tmp = None
    try:
        with output.lock(final), output.staging("supplement-") as tmp:
            entry = store.get("supplement", skey) if store is not None else None
            if entry is not None and cache.holds(entry, final):
                progress(f"Supplement reused (no input changed): {target} is up to date "
                         f"({time.perf_counter() - t0:.1f} s)")
                return target
            if entry is not None:
                cache.copy_out(entry, tmp / "cached")
                nxt = _next_version(final, tmp / "cached" / "supplement",
                                    tmp / "cached" / zip_name(blinded), tmp / "next")
                rendermod.publish(nxt, final, progress)
                progress(f"Supplement reused from the build cache: {target}")
                return target
            stage = tmp / "supplement"
            stage.mkdir()
            with scoped_environ(keys):
                if spec_path is not None:
                    os.environ["REPORT_TRIAL"] = str(spec_path)
                progress("Computing results, tables and figures")
                trial = blinding.load(data)
                n_stats, columns = _analysis_outputs(trial, stage, epoch, project, blinded,
                                                     progress)
                os.environ.update({"REPORT_DATA": str(data), "REPORT_PROJECT": str(project),
                                   "REPORT_RESULTS": str(stage / "results" / "results.csv"),
                                   "SOURCE_DATE_EPOCH": str(epoch)})
                progress("Rendering the supplementary document")
                files = rendermod.render(project / "supplement", data, engine, tmp / "doc",
                                         results=False, progress=lambda m: progress("  " + m),
                                         trial=spec_path, use_cache=False)  # cached whole
                for f in files:
                    if f.suffix in (".pdf", ".docx"):
                        shutil.copyfile(f, stage / f"{NAME}{f.suffix}")
                        if f.suffix == ".docx":
                            normalise_office(stage / f"{NAME}.docx", epoch)
            (stage / "README.md").write_text(
                readme(stage, data, epoch, blinded, bool(trial.synthetic), n_stats, columns,
                       spec=trial.spec),
                encoding="utf-8")
            text = json.dumps(manifest(stage, data, project, label, epoch, blinded,
                                       spec=trial.spec), indent=1)
            (stage / "manifest.json").write_text(text + "\n", encoding="utf-8")
            zpath = write_zip(stage, tmp / zip_name(blinded), epoch, prefix=f"{NAME}/")
            if store is not None:
                keep = tmp / "entry"
                shutil.copytree(stage, keep / "supplement")
                shutil.copyfile(zpath, keep / zpath.name)
                store.put("supplement", skey, keep)
                cache.prune(store, "supplement")
            nxt = _next_version(final, stage, zpath, tmp / "next")
            rendermod.publish(nxt, final, progress)
    except Exception as err:
        failure = rendermod.as_failure(err, final, tmp)
        if failure is err:
            raise
        raise failure from None
    progress(f"Supplement published to {final / 'supplement'} and {target} "
             f"in {time.perf_counter() - t0:.1f} s")
    return target
