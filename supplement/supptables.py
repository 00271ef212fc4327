"""Layout helpers for the supplement's chapters (no statistics: tables and figures are the
endpoint families' own, read from the results store).

Nothing here knows a trial: the endpoints, datasets and model options come from the trial's
specification, and a table or section exists only when the trial has what it shows. Tables
whose number follows the trial (one per endpoint, one per dataset) are emitted as numbered,
labelled floats (:func:`analysis.displays.display.captioned_table`).
"""

from __future__ import annotations

import os
import re
from functools import cache, lru_cache
from pathlib import Path

import pandas as pd

from analysis.escape import Markdown

MASK = "[masked]"


@lru_cache(maxsize=1)
def report():
    """The trial and results store (masked in blinded mode), as the main report reads them."""
    from analysis.report import load_report

    return load_report()


def spec():
    """The trial's specification."""
    return report().spec


def blinded() -> bool:
    from analysis.blinding import is_blinded

    return is_blinded()


@cache
def family_tables(family: str) -> dict[str, pd.DataFrame]:
    """``analysis.families.<family>.tables(trial, store)`` (``{}`` for an unknown family)."""
    import importlib

    rep = report()
    try:
        mod = importlib.import_module(f"analysis.families.{family}")
    except ImportError:
        return {}
    return mod.tables(rep.trial, rep.store)


def has_table(family: str, name: str) -> bool:
    return name in family_tables(family)


def table(family: str, name: str):
    """Display one table of a family (use in a cell with ``#| tbl-cap``)."""
    from analysis.displays.display import show_table

    tables = family_tables(family)
    if name not in tables:
        raise KeyError(f"the {family} family has no table {name!r} for this trial (it has: "
                       f"{', '.join(sorted(tables)) or 'none'}); put its cell in a .when div")
    return show_table(tables[name])


def label_of(*parts: str) -> str:
    """A cross-reference label: ``tbl-s-`` + the parts, lower case, ``-`` between words."""
    return "tbl-s-" + "-".join(re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") for p in parts)


def captioned(items) -> Markdown:
    """``(df, label, caption)`` items as numbered tables, one after the other."""
    from analysis.displays.display import captioned_table

    return Markdown("\n\n").join(captioned_table(df, label, caption) for df, label, caption
                                 in items)


def show(md: Markdown):
    from analysis.displays.display import show_markdown

    return show_markdown(md)


def _unit(ep) -> str:
    return f" ({ep.unit})" if ep.unit and ep.unit not in ("score",) else ""


def repeated_endpoints() -> list:
    return list(spec().endpoints_by(kind="repeated_continuous"))


def descriptive_tables() -> Markdown:
    """One table per repeated continuous endpoint: n, mean (SD) of value and change."""
    tables = family_tables("secondary")
    items = []
    for ep in repeated_endpoints():
        name = f"secondary_descriptive_{ep.id}"
        if name in tables:
            items.append((tables[name], label_of("desc", ep.id), Markdown(
                "{}{} by visit: n, mean (SD) of the value and of the change from "
                "baseline.").format(ep.label, _unit(ep))))
    return captioned(items)


def time_to_event_tables() -> Markdown:
    """One table per time-to-event endpoint: cumulative percentage and patients at risk."""
    tables = family_tables("secondary")
    items = []
    for ep in spec().endpoints_by(kind="time_to_event"):
        name = f"secondary_{ep.id}"
        if name in tables:
            items.append((tables[name], label_of("tte", ep.id), Markdown(
                "{}: cumulative percentage of patients with the event (95% CI) and patients "
                "at risk, by visit.").format(ep.label)))
    return captioned(items)


def decision_continuous_table() -> Markdown:
    """The table of the decision's single-visit continuous endpoints ("" when none)."""
    try:
        from analysis.families.coprimary import continuous_name
    except ImportError:
        return Markdown()
    tables = family_tables("coprimary")
    name = continuous_name(spec())
    if name not in tables:
        return Markdown()
    return captioned([(tables[name], "tbl-s-cp-continuous", Markdown(
        "Primary continuous endpoints at a single visit, by arm: mean (SD) at baseline, at the "
        "visit and change; adjusted means (95% CI)."))])


def figure(family: str, name: str) -> None:
    """Display the exported figure ``name`` (of ``family``): the file the pipeline wrote."""
    from analysis.displays.display import show_figure

    show_figure(name)


def mmrm_models() -> pd.DataFrame:
    """One row per repeated outcome: subjects, observations, REML log-likelihood, convergence."""
    from analysis.displays.formatting import fmt_int, fmt_num

    store = report().store
    rows = []
    for ep in repeated_endpoints():
        def v(s, ep=ep):
            return store.value(ep.id, s, analysis="mmrm", arm="Overall")

        if store.select(ep.id, analysis="mmrm", statistic="n_subjects").empty:
            continue
        rows.append({"Outcome": ep.short_label or ep.label,
                     "Patients": fmt_int(v("n_subjects")),
                     "Observations": fmt_int(v("n_obs")),
                     "REML log-likelihood": fmt_num(v("reml_loglik"), 1),
                     "Converged": "yes" if v("converged") == 1 else "NO"})
    return pd.DataFrame(rows, columns=["Outcome", "Patients", "Observations",
                                       "REML log-likelihood", "Converged"])


_COVARIANCE = {"unstructured": "an unstructured", "compound_symmetry": "a compound-symmetry",
               "ar1": "a first-order autoregressive", "toeplitz": "a Toeplitz"}
_DF = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward-Roger",
       "residual": "residual", "between-within": "between-within"}


def mmrm_description() -> Markdown:
    """The mixed model of the repeated outcomes, from the specification's ``mmrm`` options,
    visits and adjustment covariates."""
    from analysis.narrative import and_list, lower_first

    s = spec()
    rep = report()
    opts = s.mmrm
    visits = [rep.visit_label(v, prose=True) for v in s.post_baseline_visits]
    covs = [lower_first(c.label) for c in s.adjustment]
    fixed = Markdown("arm by visit, baseline value by visit") + (
        Markdown(" and ") + and_list(covs) if covs else Markdown())
    weights = (Markdown(" and the observed distribution of the covariates")
               if covs and opts.lsmeans == "proportional" else
               Markdown(", the covariate levels weighted equally") if covs else Markdown())
    return Markdown(
        "Each repeated continuous outcome was analysed with a mixed model for repeated measures "
        "of the change from baseline at {}: fixed effects for {}; {} within-patient covariance "
        "matrix; restricted maximum likelihood; {} degrees of freedom for the between-arm "
        "contrasts at each visit. Least-squares means are adjusted to the mean baseline "
        "value{}.").format(and_list(visits), fixed,
                           Markdown(_COVARIANCE.get(opts.covariance, opts.covariance)),
                           Markdown(_DF.get(opts.df, opts.df)), weights)


def _true_arms() -> list[str]:
    """The true arm labels (of the specification: the trial itself is masked when blinded)."""
    from analysis.spec.locate import current_spec

    return [a.label for a in current_spec().arms]


def masked_text(df: pd.DataFrame) -> pd.DataFrame:
    """In blinded mode, every mention of a true arm label replaced by a neutral mark."""
    if not blinded():
        return df
    pat = re.compile("|".join(re.escape(a) for a in _true_arms()), re.IGNORECASE)
    return df.apply(lambda s: s.map(lambda v: pat.sub(MASK, v) if isinstance(v, str) else v))


def _dictionary_table(dataset: str | None):
    from analysis.data import dictionary_table

    try:
        return dictionary_table(dataset, spec=report().trial)
    except TypeError:  # a dictionary that does not take the trial
        return dictionary_table(dataset)


def dictionary(dataset: str) -> pd.DataFrame:
    """The data dictionary of one dataset: ``Column, Type, Label, Unit, Values``."""
    df = _dictionary_table(dataset)[["Column", "Type", "Label", "Unit", "Values"]]
    return masked_text(df)


def datasets() -> list[str]:
    """The documented datasets the trial has, in dictionary order."""
    full = _dictionary_table(None)
    names = list(dict.fromkeys(full["Dataset"])) if "Dataset" in full else []
    have = getattr(report().trial, "available", None)
    return [n for n in names if have is None or n in have]


def dictionary_tables() -> Markdown:
    """One table per dataset the trial has: its documented columns."""
    return captioned((dictionary(ds), label_of("dict", ds),
                      Markdown("Dataset {}: documented columns.").format(ds))
                     for ds in datasets())


def notes() -> pd.DataFrame:
    """The documented choices of the dataset (withheld in blinded mode: they may give the arm
    sizes, which would unmask the groups)."""
    from analysis.data import dataset_notes

    if blinded():
        return pd.DataFrame({"Topic": ["All"], "Note": ["Withheld in blinded mode."]})
    from analysis.spec.locate import current_spec

    try:
        return dataset_notes(spec=current_spec())
    except TypeError:  # a dictionary that does not take the specification
        return dataset_notes()


def notes_table() -> Markdown:
    """The dataset notes as a numbered table, or ``""`` when the dataset documents none."""
    df = notes()
    if df.empty:
        return Markdown()
    return captioned([(df, "tbl-s-notes", Markdown("Documented choices of the dataset."))])


#: The supplement's sections: label, what it holds, and the condition under which it exists
#: (the same as the ``when:`` of its chapter).
SECTIONS = (
    ("sec-s-outcomes", "the outcomes at every visit", {"kind": "repeated_continuous"}),
    ("sec-s-sensitivity", "the sensitivity analyses of the primary endpoints",
     {"role": "decision"}),
    ("sec-s-mmrm", "the details of the mixed models for repeated measures",
     {"kind": "repeated_continuous"}),
    ("sec-s-safety", "the complete adverse-event tables and the listing of serious adverse "
                     "events", {"module": "adverse_events"}),
    ("sec-s-immune", "the immune response by visit", {"module": "immunogenicity"}),
    ("sec-s-dictionary", "the data dictionary", {}),
    ("sec-s-checklist", "the CONSORT 2025 checklist", {}),
)


def contents() -> Markdown:
    """Which sections this trial's supplement holds, as a sentence with cross-references."""
    from analysis.narrative import and_list
    from analysis.spec.conditions import holds

    trial = report().trial
    have = set(getattr(trial, "available", ()) or ())
    parts = [Markdown("{} (@{})").format(Markdown(what), Markdown(label))
             for label, what, when in SECTIONS if holds(spec(), have, when)]
    return Markdown("This document holds the tables and figures that do not fit in the main "
                    "report: {}.").format(and_list(parts))


def project_root() -> Path:
    """The main report's project (``$REPORT_PROJECT``, else this code's project)."""
    from publishing.provenance import PROJECT_ROOT

    return Path(os.environ.get("REPORT_PROJECT") or PROJECT_ROOT)


def consort_checklist() -> pd.DataFrame:
    from publishing import checklist

    return checklist.checklist(project_root())
