"""Run every endpoint family into one results store, and write it with tables and figures.

Each family module in :data:`FAMILIES` exposes ``compute(trial) -> list[dict]`` (rows made
with :func:`analysis.results.result_row`) and optionally ``tables(trial, store)`` ->
``{name: DataFrame}`` and ``figures(trial, store)`` -> ``{name: matplotlib Figure}``.
A module with ``AFTER_FAMILIES = True`` (the decision rule) runs after all the others:
its ``compute(trial, store)`` reads the rows they stored.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from analysis.displays.figio import save_figure
from analysis.export import SYNTHETIC_NOTE, write_table
from analysis.results import ResultsStore

FAMILIES = ["participants", "coprimary", "secondary", "immune", "safety", "decision"]


def _modules():
    mods = []
    for name in FAMILIES:
        try:
            mods.append(importlib.import_module(f"analysis.families.{name}"))
        except ModuleNotFoundError as exc:  # family not written yet
            if exc.name != f"analysis.families.{name}":
                raise
    return mods


def compute_results(trial) -> ResultsStore:
    """Compute every family's statistics on ``trial`` into one store."""
    store = ResultsStore.empty()
    mods = _modules()
    for mod in mods:
        if not getattr(mod, "AFTER_FAMILIES", False):
            store = store.add(mod.compute(trial))
    for mod in mods:
        if getattr(mod, "AFTER_FAMILIES", False):
            store = store.add(mod.compute(trial, store))
    return store


SYNTHETIC_MARK = "Synthetic data"


def collect_tables(trial, store: ResultsStore) -> dict:
    """Every family's tables, ``{name: DataFrame}``, in family order."""
    tables = {}
    for mod in _modules():
        tables.update(getattr(mod, "tables", lambda t, s: {})(trial, store))
    return tables


def iter_figures(trial, store: ResultsStore):
    """Yield ``(name, figure)`` for every family's figures, one at a time (close each after use).

    A figure made from synthetic data carries a visible "Synthetic data" mark, so a figure
    file that travels alone still says what it shows.
    """
    for mod in _modules():
        for name, fig in (getattr(mod, "figures", lambda t, s: {})(trial, store)).items():
            if getattr(trial, "synthetic", False):
                mark_synthetic(fig)
            yield name, fig


def mark_synthetic(fig) -> None:
    """Add a small red "Synthetic data" mark in the figure's lower-right corner."""
    fig.text(0.995, 0.005, SYNTHETIC_MARK, ha="right", va="bottom", fontsize=7.5,
             color="#b00020", alpha=0.9)


def write_outputs(trial, store: ResultsStore, out_dir: str | Path) -> Path:
    """Write results.csv/.json, tables (CSV, XLSX) and figures (PDF, SVG, PNG) to ``out_dir``."""
    out = Path(out_dir)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    store.to_csv(out / "results.csv")
    store.to_json(out / "results.json")
    note = SYNTHETIC_NOTE if getattr(trial, "synthetic", False) else None
    for name, df in collect_tables(trial, store).items():
        write_table(df, out / "tables" / name, note=note)  # text never a formula; numbers
    write_figures(trial, store, out / "figures")
    return out


def write_figures(trial, store: ResultsStore, out_dir: str | Path) -> list[Path]:
    """Write every figure as PDF, SVG and PNG (:func:`analysis.displays.figio.save_figure`) into
    ``out_dir``: the one file per figure and format that every manuscript embeds."""
    import matplotlib.pyplot as plt

    written = []
    for name, fig in iter_figures(trial, store):
        written += save_figure(fig, Path(out_dir) / name)
        plt.close(fig)
    return written
