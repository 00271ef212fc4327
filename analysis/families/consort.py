"""CONSORT flow counts (CONSORT 2025 item 22a): enrolment, allocation, follow-up, analysis.

:func:`consort_rows` computes every count from the trial into results-store rows (endpoint
``"consort"``); :func:`flow_from_store` reads them back into a :class:`ConsortFlow` that the
diagram (:mod:`analysis.displays.consort_plot`) and the chapter prose use, so every display
shows the
numbers of the store.

Statistics (``group`` = a reason where noted, ``visit`` = AVISITN where noted):

=====================  ===========  ====================================================
statistic              arm          meaning
=====================  ===========  ====================================================
assessed               Overall      screened (assessed for eligibility)
not_eligible           Overall      screened with ``ELIGFL == "N"``
excluded               Overall      screened, not randomised; by reason with ``group``
randomised             Overall      randomised
allocated              each arm     allocated (``TRT01P``)
received               each arm     received the allocated intervention (``TRT01A``)
not_received           each arm     did not; by reason (``NTRTREAS``) with ``group``
visit_assessed         arm, visit   attended the visit (any ``adqs`` record there)
visit_missed           arm, visit   still in the study but missed the visit
discontinued           arm, visit   left the study since the previous visit; by reason
discontinued_total     arm, visit   left the study before the visit (cumulative)
analysed               arm, visit   evaluable responder status at the primary visit
not_analysed           arm, visit   not evaluable; by reason with ``group``
=====================  ===========  ====================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.results import ResultsStore, result_row

ENDPOINT = "consort"
VISITS = (1, 3, 6, 12, 24)  # scheduled follow-up visits (months)
PRIMARY_VISIT = 12
MISSED_VISIT = "Missed month-{v} visit"
INCOMPLETE = "Month-{v} data incomplete"
NOT_ITT = "Not in ITT population"
UNKNOWN = "Reason not recorded"


def _text(s: pd.Series) -> pd.Series:
    """Text column with missing values as ``""``."""
    return s.fillna("").astype(str).str.strip()


def _count_reasons(reasons: pd.Series, order=()) -> list[tuple[str, int]]:
    """``(reason, n)`` pairs: ``order`` first (zeros kept), then the others by count."""
    reasons = reasons.replace("", UNKNOWN)
    counts = reasons.value_counts()
    out = [(r, int(counts.get(r, 0))) for r in order]
    rest = sorted(((r, int(n)) for r, n in counts.items() if r not in order),
                  key=lambda t: (-t[1], t[0]))
    return out + rest


def exclusion_reason_order() -> tuple[str, ...]:
    """Allowed ``EXCLREAS`` values in the order of the data dictionary (``()`` if unknown)."""
    try:
        from analysis import data as data_mod
    except ImportError:  # pragma: no cover - the loader is always there in the project
        return ()
    fn = getattr(data_mod, "allowed_values", None)
    if fn is not None:
        try:
            return tuple(str(v) for v in fn("screening", "EXCLREAS") if str(v) != "")
        except Exception:  # noqa: BLE001 - dictionary without the entry: data order instead
            return ()
    return ()


def visit_schedule(trial) -> tuple[int, ...]:
    """Follow-up visits: the scheduled ones plus any other post-baseline visit in ``adqs``."""
    seen = pd.to_numeric(trial.adqs["AVISITN"], errors="coerce").dropna().astype(int)
    return tuple(sorted(set(VISITS) | {v for v in seen.unique() if v > 0}))


def consort_rows(trial, *, primary_visit: int = PRIMARY_VISIT,
                 reason_order: tuple[str, ...] | None = None) -> list[dict]:
    """Every CONSORT count of ``trial`` as results-store rows (endpoint ``"consort"``).

    Parameters
    ----------
    trial : analysis.data.Trial
        The loaded trial (``screening``, ``adsl``, ``adqs``, ``arms``).
    primary_visit : int
        Visit (AVISITN) of the primary endpoint; "analysed" = evaluable responder status there.
    reason_order : tuple of str, optional
        Exclusion reasons to list first, zeros included (default: the dictionary's list).
    """
    from analysis.families.derive import derive_responders

    rows: list[dict] = []

    def add(stat, value, *, arm="Overall", group="", visit=None, population="Randomised"):
        rows.append(result_row(ENDPOINT, stat, value, arm=arm, group=group, visit=visit,
                               population=population))

    # Enrolment
    scr = trial.screening
    randfl = _text(scr["RANDFL"])
    excl = scr[randfl != "Y"]
    order = exclusion_reason_order() if reason_order is None else tuple(reason_order)
    add("assessed", len(scr), population="Screened")
    add("not_eligible", int((_text(scr["ELIGFL"]) == "N").sum()), population="Screened")
    add("excluded", len(excl), population="Screened")
    for reason, n in _count_reasons(_text(excl["EXCLREAS"]), order):
        add("excluded", n, group=reason, population="Screened")
    adsl = trial.adsl
    add("randomised", len(adsl))

    # Allocation
    trt = _text(adsl["TRT01P"])
    treated = _text(adsl["TRT01A"]) != ""
    status = _text(adsl["EOSSTT"])
    disc = status == "DISCONTINUED"
    last = pd.to_numeric(adsl["DCSVISN"], errors="coerce")
    dreason = _text(adsl["DCSREAS"])
    visits = visit_schedule(trial)
    attended = (trial.adqs.assign(AVISITN=pd.to_numeric(trial.adqs["AVISITN"], errors="coerce"))
                .groupby("AVISITN")["USUBJID"].agg(lambda s: set(s.astype(str))))
    ids = adsl["USUBJID"].astype(str)
    resp = derive_responders(trial.adqs, visit=primary_visit, subjects=ids)
    evaluable = pd.Series(resp["EVALFL"].to_numpy() == "Y", index=adsl.index)
    itt = _text(adsl["ITTFL"]) == "Y"
    at_primary = ids.isin(attended.get(primary_visit, set()))

    for arm in trial.arms:
        in_arm = trt == arm
        add("allocated", int(in_arm.sum()), arm=arm)
        add("received", int((in_arm & treated).sum()), arm=arm)
        add("not_received", int((in_arm & ~treated).sum()), arm=arm)
        for reason, n in _count_reasons(_text(adsl.loc[in_arm & ~treated, "NTRTREAS"])):
            add("not_received", n, arm=arm, group=reason)

        # Follow-up: partition of the arm at each visit into assessed / missed / gone
        previous = 0
        for v in visits:
            seen = in_arm & ids.isin(attended.get(v, set()))
            gone = in_arm & disc & (last < v) & ~seen
            new = gone & (last >= previous)
            add("visit_assessed", int(seen.sum()), arm=arm, visit=v)
            add("visit_missed", int((in_arm & ~seen & ~gone).sum()), arm=arm, visit=v)
            add("discontinued_total", int(gone.sum()), arm=arm, visit=v)
            add("discontinued", int(new.sum()), arm=arm, visit=v)
            for reason, n in _count_reasons(dreason[new]):
                add("discontinued", n, arm=arm, visit=v, group=reason)
            previous = v

        # Analysis of the primary endpoint
        analysed = in_arm & itt & evaluable
        add("analysed", int(analysed.sum()), arm=arm, visit=primary_visit, population="ITT")
        out = in_arm & ~analysed
        left = disc & (last < primary_visit) & ~at_primary
        why = pd.Series(np.select(
            [~itt, at_primary, left & (dreason != ""), left],
            [NOT_ITT, INCOMPLETE.format(v=primary_visit), dreason, UNKNOWN],
            default=MISSED_VISIT.format(v=primary_visit)), index=adsl.index)
        add("not_analysed", int(out.sum()), arm=arm, visit=primary_visit, population="ITT")
        for reason, n in _count_reasons(why[out]):
            add("not_analysed", n, arm=arm, visit=primary_visit, group=reason,
                population="ITT")
    return rows


@dataclass(frozen=True)
class ConsortFlow:
    """The counts of a CONSORT diagram, read from the results store."""

    arms: tuple[str, ...]
    assessed: int
    excluded: int
    exclusion_reasons: list[tuple[str, int]]
    randomised: int
    allocated: dict[str, int]
    received: dict[str, int]
    not_received: dict[str, list[tuple[str, int]]]
    visits: tuple[int, ...]
    visit_assessed: dict[tuple[str, int], int]
    visit_missed: dict[tuple[str, int], int]
    discontinued: dict[tuple[str, int], list[tuple[str, int]]]
    primary_visit: int
    analysed: dict[str, int]
    not_analysed: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def _reasons(df: pd.DataFrame, order=()) -> list[tuple[str, int]]:
    """Reason rows of ``df`` (``group != ""``) as ``(reason, n)``, ``order`` first."""
    sub = df[df["group"] != ""]
    counts = {g: int(v) for g, v in zip(sub["group"], sub["value"], strict=True)}
    first = [(r, counts[r]) for r in order if r in counts]
    rest = sorted(((r, n) for r, n in counts.items() if r not in order),
                  key=lambda t: (-t[1], t[0]))
    return first + rest


def flow_from_store(store: ResultsStore, arms=None, *,
                    reason_order: tuple[str, ...] | None = None) -> ConsortFlow:
    """The :class:`ConsortFlow` held in ``store`` (rows written by :func:`consort_rows`).

    ``arms`` gives the column order (default: the order of the ``allocated`` rows).
    """
    t = store.select(ENDPOINT)
    if t.empty:
        raise ValueError("the results store has no CONSORT rows")

    def one(stat, arm="Overall", visit="", group=""):
        r = t[(t["statistic"] == stat) & (t["arm"] == arm) & (t["visit"] == str(visit))
              & (t["group"] == group)]
        if len(r) != 1:
            raise ValueError(f"{len(r)} CONSORT rows for {stat!r} arm={arm!r} visit={visit!r}")
        return int(r["value"].iloc[0])

    def reasons(stat, arm="Overall", visit="", order=()):
        r = t[(t["statistic"] == stat) & (t["arm"] == arm) & (t["visit"] == str(visit))]
        return _reasons(r, order)

    if arms is None:
        arms = tuple(dict.fromkeys(t.loc[t["statistic"] == "allocated", "arm"]))
    arms = tuple(arms)
    vis = t.loc[t["statistic"] == "visit_assessed", "visit"]
    visits = tuple(sorted({int(float(v)) for v in vis}))
    primary = int(float(t.loc[t["statistic"] == "analysed", "visit"].iloc[0]))
    order = exclusion_reason_order() if reason_order is None else tuple(reason_order)
    return ConsortFlow(
        arms=arms,
        assessed=one("assessed"),
        excluded=one("excluded"),
        exclusion_reasons=reasons("excluded", order=order),
        randomised=one("randomised"),
        allocated={a: one("allocated", a) for a in arms},
        received={a: one("received", a) for a in arms},
        not_received={a: reasons("not_received", a) for a in arms},
        visits=visits,
        visit_assessed={(a, v): one("visit_assessed", a, v) for a in arms for v in visits},
        visit_missed={(a, v): one("visit_missed", a, v) for a in arms for v in visits},
        discontinued={(a, v): reasons("discontinued", a, v) for a in arms for v in visits},
        primary_visit=primary,
        analysed={a: one("analysed", a, primary) for a in arms},
        not_analysed={a: reasons("not_analysed", a, primary) for a in arms},
    )


def _n(n: int) -> str:
    return f"(n = {n:,})"


def box_texts(flow: ConsortFlow) -> dict:
    """The text of every diagram box: ``{"assessed", "excluded", "randomised"}`` strings and
    ``{"allocation", "followup", "analysis"}`` dicts keyed by arm. Sub-items are indented
    with two spaces per level (the drawing wraps long lines keeping the indent)."""
    excl = [f"Excluded {_n(flow.excluded)}"]
    excl += [f"  {r} {_n(n)}" for r, n in flow.exclusion_reasons]
    alloc, follow, analysis = {}, {}, {}
    for a in flow.arms:
        nr = flow.allocated[a] - flow.received[a]
        lines = [f"Allocated to {a} {_n(flow.allocated[a])}",
                 f"  Received allocated intervention {_n(flow.received[a])}",
                 f"  Did not receive allocated intervention {_n(nr)}"]
        lines += [f"    {r} {_n(n)}" for r, n in flow.not_received[a]]
        alloc[a] = "\n".join(lines)
        lines = []
        for v in flow.visits:
            lines.append(f"Month {v}: assessed {_n(flow.visit_assessed[(a, v)])}")
            gone = flow.discontinued[(a, v)]
            if gone:
                lines.append(f"  Lost or discontinued {_n(sum(n for _, n in gone))}")
                lines += [f"    {r} {_n(n)}" for r, n in gone]
            if flow.visit_missed[(a, v)]:
                lines.append(f"  Missed visit, still in study {_n(flow.visit_missed[(a, v)])}")
        follow[a] = "\n".join(lines)
        out = flow.not_analysed[a]
        lines = [f"Analysed for the primary endpoint {_n(flow.analysed[a])}",
                 f"  Excluded from this analysis {_n(sum(n for _, n in out))}"]
        lines += [f"    {r} {_n(n)}" for r, n in out]
        analysis[a] = "\n".join(lines)
    return {
        "assessed": f"Assessed for eligibility {_n(flow.assessed)}",
        "excluded": "\n".join(excl),
        "randomised": f"Randomised {_n(flow.randomised)}",
        "allocation": alloc,
        "followup": follow,
        "analysis": analysis,
    }
