"""Participants family: CONSORT flow counts and baseline characteristics (Table 1).

Family contract (see ``docs/ARCHITECTURE.md``): :func:`compute` returns the store rows,
:func:`tables` the exported tables, :func:`figures` the CONSORT diagram. Chapters call
:func:`consort_figure` and :func:`baseline_table` with the loaded report. What is counted and
tabulated follows the trial's specification (:mod:`analysis.families.consort`,
:mod:`analysis.families.baseline`).
"""

from __future__ import annotations

import pandas as pd

from analysis.displays.consort_plot import draw_consort
from analysis.families.baseline import baseline_rows, table_one, variables
from analysis.families.common import join
from analysis.families.consort import (
    ENDPOINT,
    box_texts,
    consort_rows,
    decision_endpoints,
    endpoint_label,
    flow_from_store,
    visit_label,
)
from analysis.results import ResultsStore

SHOW_SMD = True  # standardised mean differences in Table 1; p-values stay off (CONSORT)


def compute(trial) -> list[dict]:
    """CONSORT counts (endpoint ``"consort"``) and Table 1 statistics (``"baseline:*"``)."""
    return consort_rows(trial) + baseline_rows(trial, variables(trial.spec), smd=SHOW_SMD)


def baseline_table(trial_or_report, store: ResultsStore | None = None, *,
                   smd: bool = SHOW_SMD) -> pd.DataFrame:
    """Table 1 from the store: ``baseline_table(rep)`` or ``baseline_table(trial, store)``."""
    trial, store = _unpack(trial_or_report, store)
    return table_one(store, trial.arms, variables(trial.spec), smd=smd)


def consort_counts(store: ResultsStore) -> pd.DataFrame:
    """The CONSORT rows of the store as a tidy table (stage order, reasons under totals);
    ``endpoint`` names the decision endpoint of the analysed counts."""
    t = store.select(ENDPOINT).copy()
    order = ["assessed", "not_eligible", "excluded", "randomised", "allocated", "received",
             "not_received", "visit_assessed", "visit_missed", "visit_not_assessed",
             "discontinued", "discontinued_total", "analysed", "not_analysed"]
    t["_s"] = t["statistic"].map({s: i for i, s in enumerate(order)})
    t["_v"] = pd.to_numeric(t["visit"], errors="coerce").fillna(-1)
    t["_g"] = t["group"] != ""
    t["endpoint"] = t["analysis"].where(t["statistic"].isin(["analysed", "not_analysed"]), "")
    t = t.sort_values(["_s", "endpoint", "_v", "arm", "_g", "group"], kind="mergesort")
    out = t[["statistic", "endpoint", "arm", "visit", "group", "value"]].rename(
        columns={"value": "n", "group": "reason"})
    out["n"] = out["n"].astype(int)
    return out.reset_index(drop=True)


def tables(trial, store: ResultsStore) -> dict[str, pd.DataFrame]:
    """Exports: ``baseline_table`` (Table 1) and ``consort_counts``."""
    return {"baseline_table": baseline_table(trial, store), "consort_counts": consort_counts(store)}


def flow(trial_or_report, store: ResultsStore | None = None):
    """The CONSORT flow of the store, labelled from the trial's specification."""
    trial, store = _unpack(trial_or_report, store)
    return flow_from_store(store, trial.arms, spec=trial.spec)


def consort_figure(trial_or_report, store: ResultsStore | None = None):
    """The CONSORT flow diagram drawn from the store's counts, with the analysed numbers of
    every decision endpoint (those counted by their own family: :func:`store_analysed`)."""
    trial, store = _unpack(trial_or_report, store)
    texts = box_texts(flow(trial, store), store_analysed(store, trial.spec, trial.arms))
    return draw_consort(texts, arms=trial.arms)


def store_analysed(store: ResultsStore, spec, arms) -> list[tuple[str, dict[str, int]]]:
    """``[(label, {arm: n analysed})]`` for the decision endpoints that the CONSORT counts do
    not cover (single-visit continuous, time to event): the ``n`` of each arm's rows of the
    endpoint's primary analysis in the store (none when it was not analysed)."""
    out = []
    for ep in decision_endpoints(spec, kinds=("single_visit_continuous", "time_to_event")):
        rows = store.select(ep.id, analysis="primary")
        rows = rows[rows["arm"].isin(set(arms)) & rows["n"].notna()]
        counts = {a: int(rows.loc[rows["arm"] == a, "n"].max()) for a in arms
                  if (rows["arm"] == a).any()}
        if counts:
            out.append((endpoint_label(spec, ep.id), counts))
    return out


def figures(trial, store: ResultsStore) -> dict:
    """The CONSORT diagram, saved by the pipeline as ``consort.{pdf,svg,png}``."""
    return {"consort": consort_figure(trial, store)}


def _unpack(trial_or_report, store):
    if store is None:  # a Report (analysis.report.Report)
        return trial_or_report.trial, trial_or_report.store
    return trial_or_report, store


def show_consort(rep=None) -> None:
    """Display the exported CONSORT diagram (``figures/consort``) in a chapter cell."""
    from analysis.displays.display import show_figure

    show_figure("consort", alt="CONSORT diagram")


def _lower_first(text: str) -> str:
    """Lower-case the first letter unless the first word has another capital (an acronym or a
    name such as "BDI-II" or "McDonald").

    >>> _lower_first("Facet syndrome"), _lower_first("BDI-II score")
    ('facet syndrome', 'BDI-II score')
    """
    word = text.split(" ")[0]
    if sum(c.isupper() for c in word) > 1:
        return text
    return text[:1].lower() + text[1:]


def exclusion_sentence(store: ResultsStore, top: int = 3) -> str:
    """``'the most frequent reasons were X (n = 16), Y (n = 16) and Z (n = 12)'`` (the
    reasons as recorded; "" without a screening log)."""
    ex = store.select(ENDPOINT, statistic="excluded")
    if ex.empty:
        return ""
    ex = ex[(ex["group"] != "") & (ex["value"] > 0)]
    ex = ex.sort_values(["value", "group"], ascending=[False, True], kind="mergesort").head(top)
    items = [f"{g} (n = {int(v)})" for g, v in zip(ex["group"], ex["value"], strict=True)]
    if not items:
        return "no reasons were recorded"
    word = "reason was" if len(items) == 1 else "reasons were"
    return f"the most frequent {word} {join(items)}"


def smd_sentence(trial_or_report, store: ResultsStore | None = None,
                 threshold: float = 0.1) -> str:
    """Largest absolute SMD between arms and the number of variables above ``threshold``."""
    from analysis.displays.formatting import fmt_num
    from analysis.families.baseline import variable_label

    trial, store = _unpack(trial_or_report, store)
    t = store.table
    t = t[t["endpoint"].str.startswith("baseline:") & (t["statistic"] == "smd")
          & t["value"].notna()]
    if t.empty:
        return "Standardised differences could not be computed."
    by_var = t.groupby("endpoint")["value"].max()
    top = by_var.idxmax()
    var = next(v for v in variables(trial.spec) if f"baseline:{v.name}" == top)
    above = int((by_var > threshold).sum())
    return (f"The largest absolute standardised difference between arms was "
            f"{fmt_num(by_var[top], 2)} ({_lower_first(variable_label(var).split(' (')[0])}); "
            f"{above} of {len(by_var)} characteristics had a difference above "
            f"{fmt_num(threshold, 1)}.")


def baseline_markdown(trial_or_report, store: ResultsStore | None = None) -> str:
    """Table 1 as a pipe table whose column widths follow the content."""
    from analysis.displays.display import markdown_table

    return markdown_table(baseline_table(trial_or_report, store))


def show_baseline_table(rep):
    """Display Table 1 in a chapter cell (use with ``#| label: tbl-baseline``)."""
    from analysis.displays.display import show_markdown

    return show_markdown(baseline_markdown(rep))


def recruitment_sentence(trial) -> str:
    """Recruitment and follow-up periods from the data (CONSORT item 23a): ADSL ``RANDDT``
    and the ``ADT`` of the follow-up datasets ("" when the data have no such dates).

    ``"Patients were randomised between April 2018 and December 2022; the last follow-up
    assessment took place in December 2024."``
    """
    from analysis.families.common import dataset
    from analysis.families.consort import followup_endpoints

    adsl = trial.adsl
    none = ("The dates of recruitment are not in the data (no randomisation date, RANDDT, in "
            "ADSL).")
    if "RANDDT" not in adsl.columns:
        return none
    rand = pd.to_datetime(adsl["RANDDT"], errors="coerce").dropna()
    if rand.empty:
        return none
    spec = getattr(trial, "spec", None)
    names = ([e.dataset for e in followup_endpoints(spec)] if spec is not None else ["adqs"])
    dates = [pd.to_datetime(d["ADT"], errors="coerce") for d in
             (dataset(trial, n) for n in dict.fromkeys(names)) if "ADT" in d.columns]
    visits = pd.concat(dates).dropna() if dates else pd.Series(dtype="datetime64[ns]")
    text = (f"Patients were randomised between {rand.min():%B %Y} and {rand.max():%B %Y}")
    if not visits.empty:
        text += f"; the last follow-up assessment took place in {visits.max():%B %Y}"
    return text + "."


# ---------------------------------------------------------------- prose for the chapter

def allocation_sentence(trial_or_report, store: ResultsStore | None = None) -> str:
    """Randomised and allocated (and received, when recorded) per arm, from the store."""
    trial, store = _unpack(trial_or_report, store)
    f = flow(trial, store)
    alloc = join([f"{f.allocated[a]:,} to {a}" for a in f.arms])
    text = f"{f.randomised:,} patients were randomised: {alloc}."
    if f.received is not None:
        text += (" The allocated intervention was received by "
                 + join([f"{f.received[a]:,} {a}" for a in f.arms]) + " patients.")
    return text


def enrolment_sentence(trial_or_report, store: ResultsStore | None = None) -> str:
    """Screened and excluded with the most frequent reasons ("" without a screening log)."""
    trial, store = _unpack(trial_or_report, store)
    f = flow(trial, store)
    if not f.enrolment:
        return ""
    return (f"Of {f.assessed:,} people assessed for eligibility, {f.excluded:,} were not "
            f"randomised; {exclusion_sentence(store)}.")


def followup_sentence(trial_or_report, store: ResultsStore | None = None) -> str:
    """Attendance at the primary visit and, per decision endpoint, the patients analysed."""
    trial, store = _unpack(trial_or_report, store)
    f = flow(trial, store)
    spec = trial.spec
    v = spec.primary_visit
    parts = []
    if v in f.visits:
        seen = join([f"{f.visit_assessed[(a, v)]:,} {a}" for a in f.arms])
        parts.append(f"At the primary visit ({visit_label(spec, v).lower()}), {seen} "
                     "patients were assessed")
        if f.discontinued is not None:
            gone = join([f"{int(store.value(ENDPOINT, 'discontinued_total', arm=a, visit=v)):,}"
                         for a in f.arms])
            parts[-1] += f", and {gone} had left the study"
        parts[-1] += "."
    for an in f.analyses:
        counts = join([f"{an.counts[a]:,} {a}" for a in f.arms])
        parts.append(f"{counts} patients were analysed for {_lower_first(an.label)}.")
    for label, counts in store_analysed(store, spec, trial.arms):
        parts.append(join([f"{counts.get(a, 0):,} {a}" for a in trial.arms])
                     + f" patients were analysed for {_lower_first(label)}.")
    return " ".join(parts)


# ---------------------------------------------------------------- prose for the methods
def population_text(trial) -> str:
    """One sentence per declared population: its label, the flag defining it and the arm it
    analyses patients by."""
    spec = trial.spec
    out = []
    for pop in spec.populations.values():
        by = ("the intervention actually received" if pop.arm == "actual"
              else "the arm allocated at randomisation")
        out.append(f"{pop.label} ({pop.flag} = {pop.value} in the subject-level data), "
                   f"analysed by {by}")
    return "The analysis populations were: " + "; ".join(out) + "."


def flow_methods_text(trial) -> str:
    """How the CONSORT flow is counted, following the modules that are on."""
    from analysis.families.common import active_modules

    spec = trial.spec
    mods = active_modules(trial)
    parts = []
    if "screening" in mods:
        declared = bool(spec.modules["screening"].get("reasons"))
        parts.append("the people screened and the reasons they were not randomised"
                     + (" (every declared reason of the screening log is listed, including "
                        "those never used)" if declared else ""))
    alloc = "allocation"
    if "disposition" in mods or any(p.arm == "actual" for p in spec.populations.values()):
        alloc += " and receipt of the intervention"
    parts.append(alloc)
    follow = ("for each follow-up visit and arm, the patients assessed (at least one "
              "assessment of a follow-up outcome at that visit)")
    if "disposition" in mods:
        follow += (", those who had left the study since the previous visit with the reason, "
                   "and those who missed the visit but remained in the study")
    else:
        follow += " and those not assessed"
    parts.append(follow)
    text = "The flow of participants is reported as recommended by CONSORT: " + \
        "; ".join(parts) + "."
    rules = []
    for ep in decision_endpoints(spec):
        label = _lower_first(endpoint_label(spec, ep.id))
        if ep.kind == "binary_responder":
            v = ep.visit if ep.visit is not None else spec.primary_visit
            rules.append(f"for {label} when the responder status at "
                         f"{visit_label(spec, v).lower()} could be determined from the observed "
                         "values (a criterion that is met makes a responder even when another "
                         "is missing)")
        else:
            rules.append(f"for {label} when at least one post-baseline value was observed")
    for ep in decision_endpoints(spec, kinds=("single_visit_continuous", "time_to_event")):
        rules.append(f"for {_lower_first(endpoint_label(spec, ep.id))} when included in its "
                     "primary analysis")
    if rules:
        text += " A patient was analysed " + join(rules, "and") + "."
    return text


def skewed_text(trial) -> str:
    """``"median and interquartile range for skewed ones (a, b)"``, naming the baseline
    variables summarised so when there are any (never empty: an inline value)."""
    from analysis.families.baseline import variable_label

    names = [_lower_first(variable_label(v).split(" (")[0]) for v in variables(trial.spec)
             if v.kind == "nonnormal"]
    return "median and interquartile range for skewed ones" + (
        f" ({join(names)})" if names else "")
