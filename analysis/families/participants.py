"""Participants family: CONSORT flow counts and baseline characteristics (Table 1).

Family contract (see ``docs/ARCHITECTURE.md``): :func:`compute` returns the store rows,
:func:`tables` the exported tables, :func:`figures` the CONSORT diagram. Chapters call
:func:`consort_figure` and :func:`baseline_table` with the loaded report.
"""

from __future__ import annotations

import pandas as pd

from analysis.displays.consort_plot import draw_consort
from analysis.families.baseline import BASELINE_VARS, baseline_rows, table_one
from analysis.families.consort import ENDPOINT, box_texts, consort_rows, flow_from_store
from analysis.results import ResultsStore

SHOW_SMD = True  # standardised mean differences in Table 1; p-values stay off (CONSORT)


def compute(trial) -> list[dict]:
    """CONSORT counts (endpoint ``"consort"``) and Table 1 statistics (``"baseline:*"``)."""
    return consort_rows(trial) + baseline_rows(trial, BASELINE_VARS, smd=SHOW_SMD)


def baseline_table(trial_or_report, store: ResultsStore | None = None, *,
                   smd: bool = SHOW_SMD) -> pd.DataFrame:
    """Table 1 from the store: ``baseline_table(rep)`` or ``baseline_table(trial, store)``."""
    trial, store = _unpack(trial_or_report, store)
    return table_one(store, trial.arms, BASELINE_VARS, smd=smd)


def consort_counts(store: ResultsStore) -> pd.DataFrame:
    """The CONSORT rows of the store as a tidy table (stage order, reasons under totals)."""
    t = store.select(ENDPOINT).copy()
    order = ["assessed", "not_eligible", "excluded", "randomised", "allocated", "received",
             "not_received", "visit_assessed", "visit_missed", "discontinued",
             "discontinued_total", "analysed", "not_analysed"]
    t["_s"] = t["statistic"].map({s: i for i, s in enumerate(order)})
    t["_v"] = pd.to_numeric(t["visit"], errors="coerce").fillna(-1)
    t["_g"] = t["group"] != ""
    t = t.sort_values(["_s", "_v", "arm", "_g", "group"], kind="mergesort")
    out = t[["statistic", "arm", "visit", "group", "value"]].rename(
        columns={"value": "n", "group": "reason"})
    out["n"] = out["n"].astype(int)
    return out.reset_index(drop=True)


def tables(trial, store: ResultsStore) -> dict[str, pd.DataFrame]:
    """Exports: ``baseline_table`` (Table 1) and ``consort_counts``."""
    return {"baseline_table": baseline_table(trial, store), "consort_counts": consort_counts(store)}


def consort_figure(trial_or_report, store: ResultsStore | None = None):
    """The CONSORT flow diagram drawn from the store's counts, with the analysed numbers of
    every co-primary endpoint (:func:`coprimary_analysed`)."""
    trial, store = _unpack(trial_or_report, store)
    texts = box_texts(flow_from_store(store, trial.arms))
    for label, counts in coprimary_analysed(store, trial.arms):
        for arm, n in counts.items():
            texts["analysis"][arm] += f"\nAnalysed for {label} (n = {n:,})"
    return draw_consort(texts, arms=trial.arms)


def coprimary_analysed(store: ResultsStore, arms) -> list[tuple[str, dict[str, int]]]:
    """``[(label, {arm: n analysed})]`` for the co-primary endpoints besides the responder
    endpoint of the CONSORT counts: the structural endpoint's analysed patients are the ``n``
    of its primary-analysis adjusted means in the store (none when it was not analysed)."""
    from analysis.families.coprimary import T2

    rows = store.select(T2, analysis="primary", statistic="adjusted_mean")
    counts = {r.arm: int(r.n) for r in rows.itertuples() if r.arm in set(arms)
              and r.n == r.n}
    return [("disc T2 (structural co-primary)", counts)] if counts else []


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


PROPER_NOUNS = {"Pfirrmann", "Schizas", "Modic", "Oswestry"}


def _lower_first(text: str) -> str:
    """Lower-case the first letter unless the first word is an acronym or a proper noun.

    >>> _lower_first("Facet syndrome"), _lower_first("SF-36 score"), _lower_first("Pfirrmann 3")
    ('facet syndrome', 'SF-36 score', 'Pfirrmann 3')
    """
    word = text.split(" ")[0]
    if sum(c.isupper() for c in word) > 1 or word in PROPER_NOUNS:
        return text
    return text[:1].lower() + text[1:]


def _series(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def exclusion_sentence(store: ResultsStore, top: int = 3) -> str:
    """``'the most frequent reasons were X (n = 16), Y (n = 16) and Z (n = 12)'``."""
    ex = store.select(ENDPOINT, statistic="excluded")
    ex = ex[(ex["group"] != "") & (ex["value"] > 0)]
    ex = ex.sort_values(["value", "group"], ascending=[False, True], kind="mergesort").head(top)
    items = [f"{_lower_first(g)} (n = {int(v)})"
             for g, v in zip(ex["group"], ex["value"], strict=True)]
    if not items:
        return "no reasons were recorded"
    word = "reason was" if len(items) == 1 else "reasons were"
    return f"the most frequent {word} {_series(items)}"


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
    var = next(v for v in BASELINE_VARS if f"baseline:{v.name}" == top)
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
    """Recruitment and follow-up periods from the data (CONSORT item 23a).

    ``"Patients were randomised between April 2018 and December 2022; the last follow-up
    assessment took place in December 2024."``
    """
    rand = pd.to_datetime(trial.adsl["RANDDT"], errors="coerce").dropna()
    visits = pd.to_datetime(trial.adqs["ADT"], errors="coerce").dropna()
    if rand.empty:
        return ""
    text = (f"Patients were randomised between {rand.min():%B %Y} and {rand.max():%B %Y}")
    if not visits.empty:
        text += f"; the last follow-up assessment took place in {visits.max():%B %Y}"
    return text + "."
