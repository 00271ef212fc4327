"""Layout helpers for the supplement's chapters (no statistics: tables and figures are the
endpoint families' own, read from the results store)."""

from __future__ import annotations

import os
import re
from functools import cache, lru_cache
from pathlib import Path

import pandas as pd

MASK = "[masked]"


@lru_cache(maxsize=1)
def report():
    """The trial and results store (masked in blinded mode), as the main report reads them."""
    from analysis.report import load_report

    return load_report()


def blinded() -> bool:
    from analysis.blinding import is_blinded

    return is_blinded()


@cache
def family_tables(family: str) -> dict[str, pd.DataFrame]:
    """``analysis.<family>.tables(trial, store)``."""
    import importlib

    rep = report()
    return importlib.import_module(f"analysis.{family}").tables(rep.trial, rep.store)


def table(family: str, name: str):
    """Display one table of a family (use in a cell with ``#| tbl-cap``)."""
    from analysis.displays.display import show_table

    return show_table(family_tables(family)[name])


def figure(family: str, name: str) -> None:
    """Display the exported figure ``name`` (of ``family``): the file the pipeline wrote."""
    from analysis.displays.display import show_figure

    show_figure(name)


def mmrm_models() -> pd.DataFrame:
    """One row per outcome: subjects, observations, REML log-likelihood, convergence."""
    from analysis.displays.formatting import fmt_int, fmt_num

    store = report().store
    rows = []
    for ep, label in (("vas", "Pain VAS"), ("odi", "ODI"), ("sf36pcs", "SF-36 PCS"),
                      ("sf36mcs", "SF-36 MCS")):
        v = lambda s, ep=ep: store.value(ep, s, analysis="mmrm", arm="Overall")  # noqa: E731
        rows.append({"Outcome": label, "Patients": fmt_int(v("n_subjects")),
                     "Observations": fmt_int(v("n_obs")),
                     "REML log-likelihood": fmt_num(v("reml_loglik"), 1),
                     "Converged": "yes" if v("converged") == 1 else "NO"})
    return pd.DataFrame(rows)


def _true_arms() -> list[str]:
    from analysis.data import arms

    return list(arms())


def masked_text(df: pd.DataFrame) -> pd.DataFrame:
    """In blinded mode, every mention of a true arm label replaced by a neutral mark."""
    if not blinded():
        return df
    pat = re.compile("|".join(re.escape(a) for a in _true_arms()), re.IGNORECASE)
    return df.apply(lambda s: s.map(lambda v: pat.sub(MASK, v) if isinstance(v, str) else v))


def dictionary(dataset: str) -> pd.DataFrame:
    """The data dictionary of one dataset: ``Column, Type, Label, Unit, Values``."""
    from analysis.data import dictionary_table

    df = dictionary_table(dataset)[["Column", "Type", "Label", "Unit", "Values"]]
    return masked_text(df)


def datasets() -> list[str]:
    from analysis.data import DATASETS

    return list(DATASETS)


def notes() -> pd.DataFrame:
    """The documented choices of the synthetic data (withheld in blinded mode: they give the
    arm sizes, which would unmask the groups)."""
    from analysis.data import dataset_notes

    if blinded():
        return pd.DataFrame({"Topic": ["All"], "Note": ["Withheld in blinded mode."]})
    return dataset_notes()


def project_root() -> Path:
    """The main report's project (``$REPORT_PROJECT``, else this code's project)."""
    from publishing.provenance import PROJECT_ROOT

    return Path(os.environ.get("REPORT_PROJECT") or PROJECT_ROOT)


def consort_checklist() -> pd.DataFrame:
    from publishing import checklist

    return checklist.checklist(project_root())
