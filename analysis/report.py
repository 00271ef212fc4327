"""What chapters use: the loaded trial and its results store, plus formatted lookups.

Chapters call :func:`load_report` once and then read numbers from it, e.g.
``rep.fmt("responder_m12", "percent", arm="BM-MSC", digits=0)``.

The data folder is ``$REPORT_DATA`` (default ``data/synthetic`` in the project); the store
is read from ``$REPORT_RESULTS`` when that file exists, else computed from the data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from analysis.displays.formatting import fmt_ci, fmt_int, fmt_num, fmt_p, fmt_pct
from analysis.escape import Markdown, install_ipython_text
from analysis.results import ResultsStore

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The data folder in use (``$REPORT_DATA``, else the specification's data folder)."""
    from analysis.spec.locate import data_folder

    return Path(data_folder())


@dataclass(frozen=True)
class Report:
    """A trial and its results store, with lookups that format for prose."""

    trial: object
    store: ResultsStore

    def value(self, endpoint: str, statistic: str, **where) -> float:
        return self.store.value(endpoint, statistic, **where)

    def row(self, endpoint: str, statistic: str, **where):
        return self.store.get(endpoint, statistic, **where)

    def fmt(self, endpoint: str, statistic: str, digits: int = 1, **where) -> str:
        """A value with ``digits`` decimals."""
        return fmt_num(self.value(endpoint, statistic, **where), digits)

    def count(self, endpoint: str, statistic: str, **where) -> str:
        return fmt_int(self.value(endpoint, statistic, **where))

    def pct(self, endpoint: str, statistic: str = "percent", digits: int = 0, **where) -> str:
        return fmt_pct(self.value(endpoint, statistic, **where), digits)

    def p(self, endpoint: str, statistic: str = "p_value", **where) -> str:
        return fmt_p(self.value(endpoint, statistic, **where))

    def ci(self, endpoint: str, statistic: str, digits: int = 1, **where) -> str:
        """``'est (95% CI lo to hi)'`` for a row with limits."""
        r = self.row(endpoint, statistic, **where)
        return f"{fmt_num(r['value'], digits)} (95% CI {fmt_ci(r['lower'], r['upper'], digits)})"


@lru_cache(maxsize=4)
def _load(data: str, results: str | None) -> Report:
    from analysis.blinding import load as load_trial
    from analysis.pipeline import compute_results

    trial = load_trial(data)
    if results and Path(results).exists():
        store = ResultsStore.from_csv(results)
    else:
        store = compute_results(trial)
    return Report(trial, store)


def load_report() -> Report:
    """The report for the current data folder (cached per process).

    In a Jupyter kernel (a chapter) it also makes every plain ``str`` shown inline or as a cell
    result literal text, escaped the same way under both engines
    (:func:`analysis.escape.install_ipython_text`): data strings such as arm labels are text.
    """
    install_ipython_text()
    return _load(str(data_dir()), os.environ.get("REPORT_RESULTS"))


def synthetic_notice(trial) -> Markdown:
    """A markdown callout saying the data are synthetic ("" for real data)."""
    if not getattr(trial, "synthetic", False):
        return Markdown()
    return Markdown("::: {.callout-warning}\n## Synthetic data\n"
                    "This report was generated from a **synthetic** dataset calibrated to the "
                    "published RESPINE results. It is not the trial's data, and no number in "
                    "it describes real patients.\n:::\n")
