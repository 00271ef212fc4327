"""What chapters use: the loaded trial and its results store, plus formatted lookups.

Chapters call :func:`load_report` once and then read numbers from it, e.g.
``rep.fmt(endpoint_id, "percent", arm=rep.trial.control_arm, digits=0)``, and the trial's own
prose with :func:`trial_text`.

The trial is the specification in use (``$REPORT_TRIAL``, see :mod:`analysis.spec.locate`); the
data folder is ``$REPORT_DATA``, else the specification's data folder; the store is read from
``$REPORT_RESULTS`` when that file exists, else computed from the data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from analysis.displays.formatting import fmt_ci, fmt_int, fmt_num, fmt_p, fmt_pct
from analysis.escape import Markdown, install_ipython_text
from analysis.results import ResultsStore, contrast

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

    # ------------------------------------------------------------ the specification
    @property
    def spec(self):
        """The trial's specification (the trial's own, else the one in use)."""
        spec = getattr(self.trial, "spec", None)
        if spec is None:
            from analysis.spec.locate import current_spec

            spec = current_spec()
        return spec

    def endpoint(self, endpoint_id: str):
        """The declared endpoint ``endpoint_id`` (``KeyError`` if not declared)."""
        return self.spec.endpoint(endpoint_id)

    def visit_label(self, avisitn: int | None = None, *, prose: bool = False) -> str:
        """The label of visit ``avisitn`` (default: the primary visit); ``prose`` lowers its
        first letter for use inside a sentence ("Month 3" -> "month 3")."""
        return visit_label(self.spec, avisitn, prose=prose)

    def contrast(self, arm: str, control: str | None = None) -> str:
        """Store label of ``arm`` against ``control`` (default: the control arm)."""
        return contrast(arm, control or self.trial.control_arm)

    def arm_name(self, label: str) -> str:
        """The declared long name of an arm (its label when none, or when blinded)."""
        for arm in getattr(self.spec, "arms", ()):
            if arm.label == label and arm.name:
                return arm.name
        return label

    def text(self, key: str, *, optional: bool = False) -> Markdown:
        """The trial's text ``key`` (:func:`trial_text`)."""
        return trial_text(key, optional=optional, spec=self.spec)

    def has(self, endpoint: str, statistic: str, **where) -> bool:
        """True when exactly one row matches (a lookup would succeed)."""
        where.setdefault("analysis", "primary")
        return len(self.store.select(endpoint, statistic=statistic, **where)) == 1


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


def visit_label(spec, avisitn: int | None = None, *, prose: bool = False) -> str:
    """The label of visit ``avisitn`` of ``spec`` (default: the primary visit)."""
    n = spec.primary_visit if avisitn is None else avisitn
    try:
        label = spec.visit(int(float(n))).label
    except (StopIteration, KeyError, ValueError, TypeError):
        label = f"visit {n}"
    if prose and len(label) > 1 and label[0].isupper() and label[1].islower():
        label = label[0].lower() + label[1:]
    return label


def placeholder(item: str) -> Markdown:
    """A visible ``[to be supplied: item]`` mark for an item the trial has not supplied."""
    return Markdown("\\[to be supplied: {}\\]").format(item)


#: Inline code is not run inside a trial's text files (they are included as Markdown).
_INLINE_CODE = ("`{python}", "`{r}", "```{")


def trial_text(key: str, *, optional: bool = False, spec=None) -> Markdown:
    """The trial's own text ``key`` (``text:`` of its specification: a Markdown file relative
    to the specification) as authored Markdown, without surrounding blank lines.

    An undeclared key gives a visible placeholder ``[to be supplied: key]``, or ``""`` when
    ``optional``. A declared file that is missing, or that holds executable code (numbers
    belong in the chapter's inline expressions), is an error naming the file.
    """
    if spec is None:
        from analysis.spec.locate import current_spec

        spec = current_spec()
    path = (getattr(spec, "text", None) or {}).get(key)
    if path is None:
        return Markdown() if optional else placeholder(key)
    path = Path(path)
    if not path.is_absolute():
        path = Path(spec.path).parent / path
    if not path.is_file():
        raise FileNotFoundError(f"text {key!r} of {spec.path}: file {path} not found")
    text = path.read_text(encoding="utf-8").strip("\n")
    code = next((c for c in _INLINE_CODE if c in text), None)
    if code:
        raise ValueError(f"{path}: trial text holds code ({code!r}); numbers go into the "
                         "chapter's inline expressions, the text stays plain Markdown")
    return Markdown(text + "\n" if text else "")


def synthetic_notice(trial) -> Markdown:
    """A markdown callout saying the data are synthetic ("" for real data)."""
    if not getattr(trial, "synthetic", False):
        return Markdown()
    spec = getattr(trial, "spec", None)
    name = getattr(getattr(spec, "identity", None), "short_name", None)
    whose = (Markdown("the published {} results").format(name) if name
             else Markdown("published results"))
    return Markdown("::: {{.callout-warning}}\n## Synthetic data\n"
                    "This report was generated from a **synthetic** dataset calibrated to "
                    "{}. It is not the trial's data, and no number in it describes real "
                    "patients.\n:::\n").format(whose)
