"""CONSORT flow counts (CONSORT 2025 item 22a): enrolment, allocation, follow-up, analysis.

:func:`consort_rows` computes every count from the trial and its specification into
results-store rows (endpoint ``"consort"``); :func:`flow_from_store` reads them back into a
:class:`ConsortFlow` that the diagram (:mod:`analysis.displays.consort_plot`) and the chapter
prose use, so every display shows the numbers of the store.

What is counted follows the specification:

* enrolment (screened, excluded with reasons) only when the ``screening`` module is on; the
  module's declared ``reasons`` are listed first, zeros included, then any other reason seen;
* receipt of the allocated intervention when a population is analysed by the arm received
  or the ``disposition`` module is on (reasons from its ``not_treated_reason_column``);
* follow-up at every scheduled post-baseline visit: patients assessed (a record of a
  follow-up endpoint there); with the ``disposition`` module also those who left the study
  since the previous visit (with the reason) and those who missed the visit but stayed;
  without it, those not assessed;
* analysis, for every decision endpoint computed here: a responder endpoint counts the
  patients of its population whose responder status at its visit is evaluable, a repeated
  continuous endpoint those with at least one post-baseline value. Other decision endpoints
  (single-visit continuous, time to event) are counted by their own family: the diagram
  takes their ``n`` from the store (:func:`analysis.families.participants.store_analysed`).

Statistics (``group`` = a reason where noted, ``visit`` = AVISITN where noted):

=====================  ===========  ====================================================
statistic              arm          meaning
=====================  ===========  ====================================================
assessed               Overall      screened (assessed for eligibility)
not_eligible           Overall      screened and flagged not eligible
excluded               Overall      screened, not randomised; by reason with ``group``
randomised             Overall      randomised (rows of ADSL)
allocated              each arm     allocated (planned arm)
received               each arm     received the allocated intervention (actual arm set)
not_received           each arm     did not; by reason with ``group``
visit_assessed         arm, visit   attended the visit
visit_missed           arm, visit   still in the study but missed the visit (disposition)
visit_not_assessed     arm, visit   not assessed at the visit (without disposition)
discontinued           arm, visit   left the study since the previous visit; by reason
discontinued_total     arm, visit   left the study before the visit (cumulative)
analysed               arm          analysed for a decision endpoint (``analysis`` = its id,
                                    ``visit`` = its visit for a responder endpoint)
not_analysed           arm          not analysed; by reason with ``group``
=====================  ===========  ====================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.families.common import (
    active_modules,
    dataset,
    population_key,
    population_word,
)
from analysis.results import ResultsStore, result_row

ENDPOINT = "consort"
COMPUTED_KINDS = ("binary_responder", "repeated_continuous")
MISSED_VISIT = "Missed {visit} visit"
INCOMPLETE = "{Visit} data incomplete"
NOT_IN = "Not in {population} population"
NO_FOLLOW_UP = "No post-baseline value"
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


def visit_label(spec, v) -> str:
    """The schedule's label of visit ``v`` (``"Visit v"`` when not scheduled)."""
    try:
        return spec.visit(int(float(v))).label
    except (StopIteration, ValueError, TypeError):
        return f"Visit {v}"


def _visit_word(spec, v) -> str:
    """The visit's label as one hyphenated word (``"Week 8"`` -> ``"Week-8"``)."""
    return visit_label(spec, v).replace(" ", "-")


def followup_endpoints(spec) -> tuple:
    """Endpoints whose records mark a follow-up visit as attended: the repeated continuous
    endpoints and those used by responder rules (else every endpoint with a BDS dataset)."""
    ids = [e.id for e in spec.endpoints if e.kind == "repeated_continuous"]
    for e in spec.endpoints:
        if e.rule and e.rule in spec.rules:
            ids += list(spec.rules[e.rule].endpoints)
    eps = [spec.endpoint(i) for i in dict.fromkeys(ids)]
    eps = [e for e in eps if e.dataset]
    if not eps:
        eps = [e for e in spec.endpoints if e.dataset and e.kind != "time_to_event"]
    return tuple(eps)


def attendance(trial) -> dict[int, set[str]]:
    """Visit (AVISITN) -> subjects with a record of a follow-up endpoint at that visit."""
    spec = trial.spec
    subj = spec.data.subject_column
    parts = []
    for ds in dict.fromkeys(e.dataset for e in followup_endpoints(spec)):
        df = dataset(trial, ds)
        if df.empty:
            continue
        codes = {e.paramcd for e in followup_endpoints(spec) if e.dataset == ds}
        d = df[df["PARAMCD"].astype(str).isin(codes)]
        parts.append(pd.DataFrame({"V": pd.to_numeric(d["AVISITN"], errors="coerce"),
                                   "S": d[subj].astype(str)}))
    if not parts:
        return {}
    d = pd.concat(parts).dropna()
    return {int(v): set(g) for v, g in d.groupby("V")["S"]}


def decision_endpoints(spec, kinds=COMPUTED_KINDS) -> tuple:
    """The decision endpoints (else the primary ones) of the given kinds, in decision order."""
    ids = spec.decision.endpoints if spec.decision else \
        tuple(e.id for e in spec.endpoints if e.role == "primary")
    return tuple(spec.endpoint(i) for i in ids if spec.endpoint(i).kind in kinds)


def _shows_receipt(spec, modules) -> bool:
    return "disposition" in modules or any(p.arm == "actual" for p in spec.populations.values())


def consort_rows(trial, *, reason_order: tuple[str, ...] | None = None) -> list[dict]:
    """Every CONSORT count of ``trial`` as results-store rows (endpoint ``"consort"``).

    Parameters
    ----------
    trial : analysis.data.Trial
        The loaded trial (its ``spec``, ``arms``, ADSL and datasets).
    reason_order : tuple of str, optional
        Exclusion reasons to list first, zeros included (default: the screening module's
        declared ``reasons``).
    """
    spec = trial.spec
    modules = active_modules(trial)
    subj, arm_col = spec.data.subject_column, spec.data.arm_column
    rows: list[dict] = []

    def add(stat, value, *, arm="Overall", group="", visit=None, population="Randomised",
            analysis="primary"):
        rows.append(result_row(ENDPOINT, stat, value, arm=arm, group=group, visit=visit,
                               population=population, analysis=analysis))

    # Enrolment
    if "screening" in modules:
        mod = spec.modules["screening"]
        scr = dataset(trial, mod["dataset"])
        excl = scr[_text(scr[mod["randomised_flag"]]) != "Y"]
        order = tuple(mod.get("reasons") or ()) if reason_order is None else tuple(reason_order)
        add("assessed", len(scr), population="Screened")
        add("not_eligible", int((_text(scr[mod["eligible_flag"]]) == "N").sum()),
            population="Screened")
        add("excluded", len(excl), population="Screened")
        for reason, n in _count_reasons(_text(excl[mod["reason_column"]]), order):
            add("excluded", n, group=reason, population="Screened")
    adsl = trial.adsl
    add("randomised", len(adsl))

    # Allocation
    disp = spec.modules.get("disposition") if "disposition" in modules else None
    trt = _text(adsl[arm_col])
    receipt = _shows_receipt(spec, modules) and spec.data.actual_arm_column in adsl.columns
    treated = _text(adsl[spec.data.actual_arm_column]) != "" if receipt else None
    ntr_col = (disp or {}).get("not_treated_reason_column")
    ntr = _text(adsl[ntr_col]) if ntr_col and ntr_col in adsl.columns else \
        pd.Series("", index=adsl.index)
    if disp:
        stopped = ~_text(adsl[disp["status_column"]]).isin(["", disp["completed_value"]])
        last = pd.to_numeric(adsl[disp["last_visit_column"]], errors="coerce")
        dreason = _text(adsl[disp["reason_column"]])
        dorder = tuple(disp.get("reasons") or ())
    else:
        stopped = pd.Series(False, index=adsl.index)
        last = pd.Series(np.nan, index=adsl.index)
        dreason = pd.Series("", index=adsl.index)
        dorder = ()
    visits = spec.post_baseline_visits
    attended = attendance(trial)
    ids = adsl[subj].astype(str)

    for arm in trial.arms:
        in_arm = trt == arm
        add("allocated", int(in_arm.sum()), arm=arm)
        if receipt:
            add("received", int((in_arm & treated).sum()), arm=arm)
            add("not_received", int((in_arm & ~treated).sum()), arm=arm)
            for reason, n in _count_reasons(ntr[in_arm & ~treated]):
                add("not_received", n, arm=arm, group=reason)

        # Follow-up: partition of the arm at each visit into assessed / missed / gone
        previous = spec.baseline_visit
        for v in visits:
            seen = in_arm & ids.isin(attended.get(v, set()))
            add("visit_assessed", int(seen.sum()), arm=arm, visit=v)
            if not disp:
                add("visit_not_assessed", int((in_arm & ~seen).sum()), arm=arm, visit=v)
                continue
            gone = in_arm & stopped & (last < v) & ~seen
            new = gone & (last >= previous)
            add("visit_missed", int((in_arm & ~seen & ~gone).sum()), arm=arm, visit=v)
            add("discontinued_total", int(gone.sum()), arm=arm, visit=v)
            add("discontinued", int(new.sum()), arm=arm, visit=v)
            for reason, n in _count_reasons(dreason[new]):
                add("discontinued", n, arm=arm, visit=v, group=reason)
            previous = v

    # Analysis of every decision endpoint computed here
    for ep in decision_endpoints(spec):
        pop = spec.populations.get(ep.population) or spec.populations["itt"]
        in_pop = _text(adsl[pop.flag]) == pop.value
        pkey = population_key(pop.id)
        not_in = NOT_IN.format(population=population_word(pop.id))
        if ep.kind == "binary_responder":
            v = ep.visit if ep.visit is not None else spec.primary_visit
            evaluable = _evaluable_response(trial, ep, v, ids)
            at_visit = ids.isin(attended.get(v, set()))
            left = stopped & (last < v) & ~at_visit
            why = pd.Series(np.select(
                [~in_pop, at_visit, left & (dreason != ""), left],
                [not_in, INCOMPLETE.format(Visit=_visit_word(spec, v)), dreason, UNKNOWN],
                default=MISSED_VISIT.format(visit=_visit_word(spec, v).lower())),
                index=adsl.index)
        else:
            v = None
            evaluable = _has_follow_up(trial, ep, ids)
            left = stopped & ~evaluable
            why = pd.Series(np.select(
                [~in_pop, left & (dreason != ""), left], [not_in, dreason, UNKNOWN],
                default=NO_FOLLOW_UP), index=adsl.index)
        for arm in trial.arms:
            in_arm = trt == arm
            analysed = in_arm & in_pop & evaluable
            out = in_arm & ~analysed
            kw = dict(arm=arm, visit=v, population=pkey, analysis=ep.id)
            add("analysed", int(analysed.sum()), **kw)
            add("not_analysed", int(out.sum()), **kw)
            for reason, n in _count_reasons(why[out], dorder if disp else ()):
                if n:
                    add("not_analysed", n, group=reason, **kw)
    return rows


def _frames(trial, spec, endpoint_ids) -> dict[str, pd.DataFrame]:
    return {spec.endpoint(e).dataset: dataset(trial, spec.endpoint(e).dataset)
            for e in endpoint_ids if spec.endpoint(e).dataset}


def _evaluable_response(trial, ep, visit, ids: pd.Series) -> pd.Series:
    """True where the responder status of ``ep`` at ``visit`` can be determined."""
    from analysis.spec.rules import evaluate

    spec = trial.spec
    rule = spec.rules[ep.rule]
    resp = evaluate(rule, spec, _frames(trial, spec, rule.endpoints), visit, subjects=ids)
    return pd.Series(resp["EVALFL"].to_numpy() == "Y", index=ids.index)


def _has_follow_up(trial, ep, ids: pd.Series) -> pd.Series:
    """True where ``ep`` has at least one non-missing post-baseline value."""
    spec = trial.spec
    df = dataset(trial, ep.dataset)
    if df.empty:
        return pd.Series(False, index=ids.index)
    d = df[df["PARAMCD"].astype(str) == ep.paramcd]
    vis = pd.to_numeric(d["AVISITN"], errors="coerce")
    ok = d[vis.isin(spec.analysed_visits(ep)) & pd.to_numeric(d["AVAL"], errors="coerce").notna()]
    return ids.isin(set(ok[spec.data.subject_column].astype(str)))


@dataclass(frozen=True)
class Analysed:
    """Patients analysed for one decision endpoint, per arm, with the reasons of the others."""

    endpoint: str
    label: str
    counts: dict[str, int]
    reasons: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    visit: int | None = None


@dataclass(frozen=True)
class ConsortFlow:
    """The counts of a CONSORT diagram, read from the results store.

    ``assessed``/``excluded`` are ``None`` without a screening log, ``received`` is ``None``
    when receipt is not recorded, ``discontinued`` is ``None`` without disposition data
    (``visit_missed`` then counts every patient not assessed).
    """

    arms: tuple[str, ...]
    randomised: int
    allocated: dict[str, int]
    assessed: int | None = None
    excluded: int | None = None
    exclusion_reasons: list[tuple[str, int]] = field(default_factory=list)
    received: dict[str, int] | None = None
    not_received: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    visits: tuple[int, ...] = ()
    visit_labels: dict[int, str] = field(default_factory=dict)
    visit_assessed: dict[tuple[str, int], int] = field(default_factory=dict)
    visit_missed: dict[tuple[str, int], int] = field(default_factory=dict)
    discontinued: dict[tuple[str, int], list[tuple[str, int]]] | None = None
    analyses: tuple[Analysed, ...] = ()

    @property
    def enrolment(self) -> bool:
        return self.assessed is not None

    def analysed(self, endpoint: str | None = None) -> dict[str, int]:
        """Analysed counts per arm of ``endpoint`` (default: the first decision endpoint)."""
        a = self.analyses[0] if endpoint is None else \
            next(x for x in self.analyses if x.endpoint == endpoint)
        return a.counts


def _reasons(df: pd.DataFrame, order=()) -> list[tuple[str, int]]:
    """Reason rows of ``df`` (``group != ""``) as ``(reason, n)``, ``order`` first."""
    sub = df[df["group"] != ""]
    counts = {g: int(v) for g, v in zip(sub["group"], sub["value"], strict=True)}
    first = [(r, counts[r]) for r in order if r in counts]
    rest = sorted(((r, n) for r, n in counts.items() if r not in order),
                  key=lambda t: (-t[1], t[0]))
    return first + rest


def endpoint_label(spec, endpoint_id: str) -> str:
    """Short label of an endpoint for the diagram (the id when unknown)."""
    if spec is None:
        return endpoint_id
    try:
        ep = spec.endpoint(endpoint_id)
    except KeyError:
        return endpoint_id
    return ep.short_label or ep.label


def flow_from_store(store: ResultsStore, arms=None, *, spec=None,
                    reason_order: tuple[str, ...] | None = None) -> ConsortFlow:
    """The :class:`ConsortFlow` held in ``store`` (rows written by :func:`consort_rows`).

    ``arms`` gives the column order (default: the order of the ``allocated`` rows); ``spec``
    supplies visit and endpoint labels and the declared reason orders.
    """
    t = store.select(ENDPOINT)
    if t.empty:
        raise ValueError("the results store has no CONSORT rows")

    def sel(stat, arm="Overall", visit="", analysis=None):
        r = t[(t["statistic"] == stat) & (t["arm"] == arm) & (t["visit"] == str(visit))]
        return r if analysis is None else r[r["analysis"] == analysis]

    def one(stat, arm="Overall", visit="", analysis=None, group=""):
        r = sel(stat, arm, visit, analysis)
        r = r[r["group"] == group]
        if len(r) != 1:
            raise ValueError(f"{len(r)} CONSORT rows for {stat!r} arm={arm!r} visit={visit!r}")
        return int(r["value"].iloc[0])

    def has(stat):
        return bool((t["statistic"] == stat).any())

    if arms is None:
        arms = tuple(dict.fromkeys(t.loc[t["statistic"] == "allocated", "arm"]))
    arms = tuple(arms)
    screening = (spec.modules.get("screening") or {}) if spec is not None else {}
    order = tuple(screening.get("reasons") or ()) if reason_order is None else tuple(reason_order)
    dorder = tuple(((spec.modules.get("disposition") or {}).get("reasons") or ())
                   if spec is not None else ())
    vis = t.loc[t["statistic"] == "visit_assessed", "visit"]
    visits = tuple(sorted({int(float(v)) for v in vis}))
    missed = "visit_missed" if has("visit_missed") else "visit_not_assessed"
    analyses = []
    an = t[t["statistic"] == "analysed"]
    for ep_id in dict.fromkeys(an["analysis"]):
        v = an.loc[an["analysis"] == ep_id, "visit"].iloc[0]
        analyses.append(Analysed(
            endpoint=ep_id, label=endpoint_label(spec, ep_id),
            counts={a: one("analysed", a, v, ep_id) for a in arms},
            reasons={a: _reasons(sel("not_analysed", a, v, ep_id), dorder) for a in arms},
            visit=int(float(v)) if v != "" else None))
    return ConsortFlow(
        arms=arms,
        randomised=one("randomised"),
        allocated={a: one("allocated", a) for a in arms},
        assessed=one("assessed") if has("assessed") else None,
        excluded=one("excluded") if has("excluded") else None,
        exclusion_reasons=_reasons(sel("excluded"), order),
        received={a: one("received", a) for a in arms} if has("received") else None,
        not_received={a: _reasons(sel("not_received", a)) for a in arms},
        visits=visits,
        visit_labels={v: visit_label(spec, v) if spec is not None else f"Visit {v}"
                      for v in visits},
        visit_assessed={(a, v): one("visit_assessed", a, v) for a in arms for v in visits},
        visit_missed={(a, v): one(missed, a, v) for a in arms for v in visits},
        discontinued=({(a, v): _reasons(sel("discontinued", a, v), dorder) for a in arms
                       for v in visits} if has("discontinued") else None),
        analyses=tuple(analyses),
    )


def _n(n: int) -> str:
    return f"(n = {n:,})"


def box_texts(flow: ConsortFlow, extra_analysed=()) -> dict:
    """The text of every diagram box: ``{"assessed", "excluded", "randomised"}`` strings
    (the first two only with a screening log) and ``{"allocation", "followup", "analysis"}``
    dicts keyed by arm. ``extra_analysed`` adds ``(label, {arm: n})`` analysed lines (decision
    endpoints counted by their own family). Sub-items are indented with two spaces per level
    (the drawing wraps long lines keeping the indent)."""
    alloc, follow, analysis = {}, {}, {}
    for a in flow.arms:
        lines = [f"Allocated to {a} {_n(flow.allocated[a])}"]
        if flow.received is not None:
            nr = flow.allocated[a] - flow.received[a]
            lines += [f"  Received allocated intervention {_n(flow.received[a])}",
                      f"  Did not receive allocated intervention {_n(nr)}"]
            lines += [f"    {r} {_n(n)}" for r, n in flow.not_received.get(a, [])]
        alloc[a] = "\n".join(lines)
        lines = []
        for v in flow.visits:
            label = flow.visit_labels.get(v, f"Visit {v}")
            lines.append(f"{label}: assessed {_n(flow.visit_assessed[(a, v)])}")
            if flow.discontinued is None:
                if flow.visit_missed[(a, v)]:
                    lines.append(f"  Not assessed {_n(flow.visit_missed[(a, v)])}")
                continue
            gone = flow.discontinued[(a, v)]
            if gone:
                lines.append(f"  Lost or discontinued {_n(sum(n for _, n in gone))}")
                lines += [f"    {r} {_n(n)}" for r, n in gone]
            if flow.visit_missed[(a, v)]:
                lines.append(f"  Missed visit, still in study {_n(flow.visit_missed[(a, v)])}")
        follow[a] = "\n".join(lines)
        lines = []
        for an in flow.analyses:
            out = an.reasons.get(a, [])
            lines += [f"Analysed for {an.label} {_n(an.counts[a])}",
                      f"  Excluded from this analysis {_n(sum(n for _, n in out))}"]
            lines += [f"    {r} {_n(n)}" for r, n in out]
        for label, counts in extra_analysed:
            if a in counts:
                lines.append(f"Analysed for {label} {_n(counts[a])}")
        analysis[a] = "\n".join(lines) or "Analysed (n = –)"
    out = {"randomised": f"Randomised {_n(flow.randomised)}", "allocation": alloc,
           "followup": follow, "analysis": analysis}
    if flow.enrolment:
        excl = [f"Excluded {_n(flow.excluded)}"]
        excl += [f"  {r} {_n(n)}" for r, n in flow.exclusion_reasons]
        out = {"assessed": f"Assessed for eligibility {_n(flow.assessed)}",
               "excluded": "\n".join(excl), **out}
    return out
