"""Repeated endpoints, responders by visit and time to event (family module), from the trial
specification (``trial.spec``, :mod:`analysis.spec.model`).

For every declared endpoint, in its population (``endpoint.population``, by randomised arm,
or by actual arm for a population declared so):

* ``repeated_continuous`` (any role): ``descriptive`` rows, n, mean and SD of the value and
  of the change from baseline by arm and visit (observed cases), with a t-based 95 % CI of
  the mean change; ``mmrm`` rows, change ~ arm x visit + baseline x visit + the adjustment
  covariates of the specification, unstructured covariance, REML, inference and LS-means
  weighting from ``spec.mmrm`` (:mod:`analysis.stats.mmrm`): LS mean change per arm and
  visit, each experimental arm minus the control arm with 95 % CI and p; and, when the
  endpoint declares an ``mcid``, ``mcid`` rows: proportion reaching the minimal clinically
  important improvement by arm and visit (Wilson 95 % CI), risk difference vs control
  (Newcombe 95 % CI);
* ``binary_responder`` without a single ``visit`` (``visits`` a list or ``all``): the rule
  (:func:`analysis.spec.rules.evaluate`) at every visit, analysis ``observed``;
* ``time_to_event``: derived from a rule (:func:`analysis.spec.rules.first_success`, the
  endpoint's ``missed_visit`` setting) or read from an ADTTE dataset (``AVAL``, ``CNSR`` 1
  censored, 0 event; the endpoint's ``paramcd``): Kaplan-Meier, log-rank, Cox HR and PH test
  (:mod:`analysis.stats.timetoevent`) for each experimental arm vs the control arm.

Store conventions: ``percent`` and its limits are on the 0-100 scale; ``risk_difference`` is in
percentage points (experimental minus control); counts of patients reaching a threshold are
``n_responders`` with the number assessed in ``n`` (and as statistic ``N``). Contrasts are
labelled ``"<arm> vs <control>"``. Kaplan-Meier rows of a rule-derived endpoint are
``cumulative_response`` at each visit (``visit`` = AVISITN); those of an ADTTE endpoint are
``cumulative_incidence`` at a grid of times (``visit`` = the time, in the endpoint's unit).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from analysis.displays.formatting import fmt_ci, fmt_num, fmt_p
from analysis.escape import Markdown, escape_markdown
from analysis.results import contrast, result_row
from analysis.spec.rules import evaluate, first_success
from analysis.stats.binary import newcombe_rd_ci, wilson_ci
from analysis.stats.mmrm import fit_change_mmrm
from analysis.stats.timetoevent import cox, km_at, logrank, median_time

_TOL = 1e-9
#: Kaplan-Meier statistic of a time to event derived from a responder rule / read from ADTTE
KM_RULE, KM_ADTTE = "cumulative_response", "cumulative_incidence"


# ------------------------------------------------------------------------- the spec
def _spec(trial):
    if trial.spec is None:
        from analysis.spec.locate import current_spec

        return current_spec()
    return trial.spec


def repeated_endpoints(spec, *, decision: bool | None = None) -> tuple:
    """Endpoints of kind ``repeated_continuous`` (``decision``: only those in / not in the
    decision rule; ``None``: all)."""
    ids = set(spec.decision.endpoints) if spec.decision else set()
    return tuple(e for e in spec.endpoints_by(kind="repeated_continuous")
                 if decision is None or (e.id in ids) == decision)


def by_visit_responders(spec) -> tuple:
    """Binary responder endpoints analysed at every visit (no single ``visit``)."""
    return tuple(e for e in spec.endpoints_by(kind="binary_responder") if e.visit is None)


def time_to_event_endpoints(spec) -> tuple:
    return spec.endpoints_by(kind="time_to_event")


def population_label(pop_id: str) -> str:
    """Store label of a population id (``itt`` -> ``ITT``)."""
    return pop_id.upper().replace("_", " ")


def population(trial, pop_id: str = "itt") -> pd.DataFrame:
    """Subjects of the population: the subject column, the arm (in the specification's arm
    column, actual arm for a population analysed as treated; only arms of ``trial.arms``) and
    the adjustment covariates present in ADSL."""
    spec = _spec(trial)
    subj, arm = spec.data.subject_column, spec.data.arm_column
    pop = spec.populations[pop_id]
    a = trial.adsl
    col = spec.data.actual_arm_column if pop.arm == "actual" else arm
    a = a[(a[pop.flag] == pop.value) & a[col].isin(trial.arms)]
    covs = [c.column for c in spec.adjustment
            if c.column in a.columns and c.column not in (subj, arm, col)]
    out = a[[subj, col, *dict.fromkeys(covs)]]
    return out.rename(columns={col: arm}).reset_index(drop=True)


def endpoint_data(trial, ep) -> pd.DataFrame:
    """The endpoint's BDS rows (its ``paramcd``) of the population's subjects, with arm and
    covariates; empty when the trial has no such dataset or parameter."""
    spec = _spec(trial)
    subj = spec.data.subject_column
    d = trial.dataset(ep.dataset)
    if d.empty or "PARAMCD" not in d.columns:
        return pd.DataFrame()
    d = d[d["PARAMCD"] == ep.paramcd]
    pop = population(trial, ep.population)
    d = d.drop(columns=[c for c in pop.columns if c != subj and c in d.columns])
    return d.merge(pop, on=subj, how="inner")


def _present(spec, ep, d: pd.DataFrame) -> list[int]:
    """The endpoint's analysed post-baseline visits that have data, in schedule order."""
    have = set(pd.to_numeric(d["AVISITN"], errors="coerce").dropna().astype(int))
    return [v for v in spec.analysed_visits(ep) if v in have]


# ------------------------------------------------------------------------------ compute
def compute(trial) -> list[dict]:
    """Every statistic of the family as results-store rows."""
    spec = _spec(trial)
    arms, control = trial.arms, trial.control_arm
    rows: list[dict] = []
    for ep in repeated_endpoints(spec):
        q = endpoint_data(trial, ep)
        if q.empty:
            continue
        rows += descriptive_rows(q, ep, spec, arms)
        rows += mmrm_rows(q, ep, spec, arms, control)
        if ep.mcid is not None:
            rows += mcid_rows(q, ep, spec, arms, control)
    for ep in by_visit_responders(spec):
        rows += responder_rows(trial, ep)
    for ep in time_to_event_endpoints(spec):
        rows += time_to_event_rows(trial, ep)
    return rows


def _mean_ci(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float]:
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan
    m = float(np.mean(x))
    if n < 2:
        return m, math.nan, math.nan, math.nan
    sd = float(np.std(x, ddof=1))
    h = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return m, sd, m - h, m + h


def descriptive_rows(q: pd.DataFrame, ep, spec, arms) -> list[dict]:
    """n, mean, SD of value (``group="value"``) and change (``group="change"``, with CI), at
    baseline and at the endpoint's analysed visits."""
    arm_col = spec.data.arm_column
    rows = []
    kw = {"analysis": "descriptive", "population": f"{population_label(ep.population)} observed"}
    have = set(pd.unique(q["AVISITN"]))
    visits = [v for v in [spec.baseline_visit, *spec.analysed_visits(ep)] if v in have]
    for v in visits:
        for a in arms:
            d = q[(q["AVISITN"] == v) & (q[arm_col] == a)]
            val = d["AVAL"].dropna().to_numpy(float)
            m, sd, _, _ = _mean_ci(val)
            rows += [result_row(ep.id, "n", len(val), visit=v, arm=a, group="value", **kw),
                     result_row(ep.id, "mean", m, visit=v, arm=a, group="value", n=len(val),
                                **kw),
                     result_row(ep.id, "sd", sd, visit=v, arm=a, group="value", **kw)]
            if v == spec.baseline_visit:
                continue
            chg = d["CHG"].dropna().to_numpy(float)
            m, sd, lo, hi = _mean_ci(chg)
            rows += [result_row(ep.id, "n", len(chg), visit=v, arm=a, group="change", **kw),
                     result_row(ep.id, "mean", m, visit=v, arm=a, group="change", lower=lo,
                                upper=hi, n=len(chg), **kw),
                     result_row(ep.id, "sd", sd, visit=v, arm=a, group="change", **kw)]
    return rows


def mmrm_covariates(spec, d: pd.DataFrame) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Adjustment covariates entering the MMRM: (categorical, continuous) columns present in
    ``d``; a categorical one with a single level is left out (it would be constant)."""
    cat = tuple(c.column for c in spec.adjustment if c.type != "continuous"
                and c.column in d.columns and d[c.column].nunique() > 1)
    cont = tuple(c.column for c in spec.adjustment if c.type == "continuous"
                 and c.column in d.columns)
    return cat, cont


def fit_endpoint_mmrm(q: pd.DataFrame, ep, spec, arms, control):
    """The MMRM fit of one endpoint with the specification's settings."""
    visits = _present(spec, ep, q)
    d = q[q["AVISITN"].isin(visits) & q["CHG"].notna() & q["BASE"].notna()]
    cat, cont = mmrm_covariates(spec, d)
    o = spec.mmrm
    return fit_change_mmrm(d, arms=list(arms), control=control, arm=spec.data.arm_column,
                           subject=spec.data.subject_column, covariates=cat, continuous=cont,
                           covariates_by_visit=o.covariates_by_visit, df_method=o.df,
                           lsmeans_weights=o.lsmeans), d


def mmrm_rows(q: pd.DataFrame, ep, spec, arms, control) -> list[dict]:
    """LS mean change per arm and visit, differences vs control, and model summaries."""
    fit, _ = fit_endpoint_mmrm(q, ep, spec, arms, control)
    kw = {"analysis": "mmrm", "population": population_label(ep.population)}
    m = fit.model
    e = ep.id
    rows = [result_row(e, "n_subjects", m.n_subjects, **kw),
            result_row(e, "n_obs", m.n_obs, **kw),
            result_row(e, "reml_loglik", m.loglik, **kw),
            result_row(e, "converged", float(m.converged), **kw)]
    for r in fit.lsmeans.itertuples():
        rows += [result_row(e, "lsmean", r.estimate, visit=r.visit, arm=r.arm, lower=r.lower,
                            upper=r.upper, n=r.n, **kw),
                 result_row(e, "se", r.se, visit=r.visit, arm=r.arm, **kw)]
    for r in fit.contrasts.itertuples():
        rows += [result_row(e, "difference", r.estimate, visit=r.visit, arm=r.contrast,
                            lower=r.lower, upper=r.upper, n=r.n, **kw),
                 result_row(e, "se", r.se, visit=r.visit, arm=r.contrast, **kw),
                 result_row(e, "df", r.df, visit=r.visit, arm=r.contrast, **kw),
                 result_row(e, "p_value", r.p_value, visit=r.visit, arm=r.contrast, **kw)]
    return rows


def improved(q: pd.DataFrame, ep) -> pd.Series:
    """1.0 when the improvement from baseline reaches the endpoint's MCID, 0.0 if not, NaN
    if missing (improvement = ``sign`` x (value - baseline))."""
    gain = ep.sign * (q["AVAL"] - q["BASE"])
    out = (gain >= ep.mcid - _TOL).astype(float)
    return out.where(gain.notna())


def _proportion_rows(ep_id, analysis, visit, counts: dict, arms, control,
                     pop: str = "ITT observed") -> list[dict]:
    """Rows for x/n per arm (Wilson) and the RD vs control (Newcombe), percent scale."""
    kw = {"analysis": analysis, "population": pop, "visit": visit}
    rows = []
    for a in arms:
        x, n = counts[a]
        rows += [result_row(ep_id, "n_responders", x, arm=a, n=n, **kw),
                 result_row(ep_id, "N", n, arm=a, **kw)]
        if n:
            lo, hi = wilson_ci(x, n)
            rows.append(result_row(ep_id, "percent", 100 * x / n, arm=a, lower=100 * lo,
                                   upper=100 * hi, n=n, **kw))
    for a in arms:
        if a == control:
            continue
        (x1, n1), (x2, n2) = counts[a], counts[control]
        if n1 and n2:
            rd, lo, hi = newcombe_rd_ci(x1, n1, x2, n2)
            rows.append(result_row(ep_id, "risk_difference", 100 * rd, arm=contrast(a, control),
                                   lower=100 * lo, upper=100 * hi, n=n1 + n2, **kw))
    return rows


def mcid_rows(q: pd.DataFrame, ep, spec, arms, control) -> list[dict]:
    """Proportion reaching the MCID by arm and visit, and risk differences."""
    pop = f"{population_label(ep.population)} observed"
    arm_col = spec.data.arm_column
    rows = [result_row(ep.id, "threshold", ep.mcid, analysis="mcid", population=pop)]
    d = q[q["AVISITN"].isin(_present(spec, ep, q))].assign(IMPR=lambda x: improved(x, ep))
    for v in _present(spec, ep, q):
        counts = {}
        for a in arms:
            s = d.loc[(d["AVISITN"] == v) & (d[arm_col] == a), "IMPR"].dropna()
            counts[a] = (int(s.sum()), int(len(s)))
        rows += _proportion_rows(ep.id, "mcid", v, counts, arms, control, pop)
    return rows


def _rule_frames(trial, spec, rule_id) -> dict[str, pd.DataFrame]:
    rule = spec.rules[rule_id]
    names = {spec.endpoint(e).dataset for e in rule.endpoints}
    return {n: trial.dataset(n) for n in names}


def _rule_visits(trial, spec, ep, frames) -> list[int]:
    """The endpoint's analysed visits at which a dataset of its rule has data."""
    have: set[int] = set()
    for e in spec.rules[ep.rule].endpoints:
        d = frames[spec.endpoint(e).dataset]
        if not d.empty:
            d = d[d["PARAMCD"] == spec.endpoint(e).paramcd]
            have |= set(pd.to_numeric(d["AVISITN"], errors="coerce").dropna().astype(int))
    return [v for v in spec.analysed_visits(ep) if v in have]


def responder_rows(trial, ep) -> list[dict]:
    """The endpoint's responder rule at each of its visits, by arm (observed cases)."""
    spec = _spec(trial)
    subj, arm_col = spec.data.subject_column, spec.data.arm_column
    pop = population(trial, ep.population)
    frames = _rule_frames(trial, spec, ep.rule)
    if any(d.empty for d in frames.values()):
        return []
    rows = []
    label = f"{population_label(ep.population)} observed"
    for v in _rule_visits(trial, spec, ep, frames):
        r = evaluate(ep.rule, spec, frames, v, subjects=pop[subj])
        r = r.merge(pop.assign(**{subj: pop[subj].astype(str)}), on=subj)
        r = r[r["EVALFL"] == "Y"]
        counts = {a: (int(r.loc[r[arm_col] == a, "RESPONDER"].sum()),
                      int((r[arm_col] == a).sum())) for a in trial.arms}
        rows += _proportion_rows(ep.id, "observed", v, counts, trial.arms, trial.control_arm,
                                 label)
    return rows


def event_times(trial, ep) -> pd.DataFrame:
    """One row per subject followed: subject, ``arm``, ``time``, ``event`` (1 event, 0
    censored), from the endpoint's rule or its ADTTE parameter."""
    spec = _spec(trial)
    subj, arm_col = spec.data.subject_column, spec.data.arm_column
    pop = population(trial, ep.population)
    arms = pop.assign(**{subj: pop[subj].astype(str)}).set_index(subj)[arm_col]
    cols = [subj, "arm", "time", "event"]
    if ep.derived:
        frames = _rule_frames(trial, spec, ep.rule)
        if any(d.empty for d in frames.values()):
            return pd.DataFrame(columns=cols)
        visits = _rule_visits(trial, spec, ep, frames)
        t = first_success(ep.rule, spec, frames, pop[subj], visits=visits,
                          missed_visit=ep.missed_visit)
    else:
        d = trial.dataset(ep.dataset)
        if d.empty:
            return pd.DataFrame(columns=cols)
        d = d[d["PARAMCD"] == ep.paramcd]
        d = d[d[subj].astype(str).isin(arms.index)]
        t = pd.DataFrame({subj: d[subj].astype(str).to_numpy(),
                          "time": pd.to_numeric(d["AVAL"]).to_numpy(float),
                          "event": 1 - pd.to_numeric(d["CNSR"]).to_numpy(int)})
    t = t.assign(arm=arms.reindex(t[subj]).to_numpy())
    return t[t["arm"].isin(trial.arms)][cols].reset_index(drop=True)


def _nice_grid(tmax: float, n: int = 6) -> list[float]:
    """0 and round steps (1, 2 or 5 x 10^k) up to ``tmax``, about ``n`` intervals."""
    if not tmax > 0:
        return [0.0]
    raw = tmax / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    k = int(math.floor(tmax / step + 1e-9))
    return [i * step for i in range(k + 1)]


def km_times(trial, ep, tte: pd.DataFrame) -> list[tuple[int | float, float]]:
    """(store visit, time) pairs at which the Kaplan-Meier estimate is reported: the baseline
    and analysed visits of a rule-derived endpoint (time from the schedule), a grid of round
    times for an ADTTE endpoint."""
    spec = _spec(trial)
    if ep.derived:
        frames = _rule_frames(trial, spec, ep.rule)
        visits = [spec.baseline_visit, *_rule_visits(trial, spec, ep, frames)]
        return [(v, spec.visit(v).time) for v in visits]
    grid = _nice_grid(float(tte["time"].max()) if len(tte) else 0.0)
    return [(int(t) if float(t).is_integer() else t, t) for t in grid]


def _cox_or_none(tte: pd.DataFrame, arm: str, control: str) -> dict | None:
    """The Cox fit, or ``None`` when the hazard ratio is not estimable (an arm without an
    event: the partial likelihood has no maximum)."""
    d = tte[tte["arm"].isin([arm, control])]
    if (d.groupby("arm")["event"].sum().reindex([arm, control]).fillna(0) == 0).any():
        return None
    try:
        return cox(tte, arm, control)
    except (np.linalg.LinAlgError, ArithmeticError, ValueError, RuntimeError):
        return None


def time_to_event_rows(trial, ep) -> list[dict]:
    """KM cumulative proportion and numbers at risk, log-rank, Cox HR and PH test."""
    tte = event_times(trial, ep)
    if tte.empty:
        return []
    e = ep.id
    stat = KM_RULE if ep.derived else KM_ADTTE
    times = km_times(trial, ep, tte)
    rows = []
    kw = {"population": population_label(ep.population)}
    for a in trial.arms:
        d = tte[tte["arm"] == a]
        rows += [result_row(e, "n", len(d), arm=a, **kw),
                 result_row(e, "events", int(d["event"].sum()), arm=a, n=len(d), **kw)]
        if d.empty:
            continue
        rows.append(result_row(e, "median", median_time(tte, a), arm=a, n=len(d), **kw))
        at = km_at(tte, a, [t for _, t in times])
        for (v, _), r in zip(times, at.itertuples(), strict=True):
            rows += [result_row(e, stat, 100 * (1 - r.survival), visit=v, arm=a,
                                lower=100 * (1 - r.upper), upper=100 * (1 - r.lower),
                                n=r.at_risk, **kw),
                     result_row(e, "n_at_risk", r.at_risk, visit=v, arm=a, **kw)]
    for a in trial.experimental_arms:
        c = trial.control_arm
        if tte[tte["arm"] == a].empty or tte[tte["arm"] == c].empty:
            continue
        lab = contrast(a, c)
        lr = logrank(tte, a, c)
        rows += [result_row(e, "chi_square", lr["statistic"], analysis="logrank", arm=lab, **kw),
                 result_row(e, "p_value", lr["p_value"], analysis="logrank", arm=lab, **kw)]
        cx = _cox_or_none(tte, a, c)
        if cx is None:
            continue
        rows += [result_row(e, "hazard_ratio", cx["hr"], analysis="cox", arm=lab,
                            lower=cx["lower"], upper=cx["upper"], n=cx["n"], **kw),
                 result_row(e, "p_value", cx["p_value"], analysis="cox", arm=lab, **kw),
                 result_row(e, "events", cx["events"], analysis="cox", arm=lab, n=cx["n"], **kw),
                 result_row(e, "chi_square", cx["ph_statistic"], analysis="ph_test", arm=lab,
                            **kw),
                 result_row(e, "p_value", cx["ph_p_value"], analysis="ph_test", arm=lab, **kw)]
    return rows


# ------------------------------------------------------------------------------- tables
def _get(store, endpoint, statistic, **where):
    rows = store.select(endpoint, statistic=statistic, **where)
    return rows.iloc[0] if len(rows) == 1 else None


def _visits(store, endpoint, analysis, statistic) -> list:
    v = store.select(endpoint, analysis=analysis, statistic=statistic)["visit"]
    num = {float(x) for x in pd.unique(v) if x != ""}
    return [int(x) if x.is_integer() else x for x in sorted(num)]


def visit_label(spec, v) -> str:
    """The schedule's label of visit ``v`` (the number itself if not scheduled)."""
    return spec.visit(int(v)).label if int(v) in spec.visit_numbers else str(v)


def time_unit(spec) -> str:
    """The schedule's time unit as a singular word (``"month"``)."""
    unit = spec.visits[0].unit if spec.visits else "visit"
    return unit[:-1] if unit.endswith("s") else unit


def short_label(ep) -> str:
    return ep.short_label or ep.label


def _mean_sd(store, ep, v, a, group) -> str:
    m = _get(store, ep, "mean", analysis="descriptive", visit=v, arm=a, group=group)
    s = _get(store, ep, "sd", analysis="descriptive", visit=v, arm=a, group=group)
    if m is None or pd.isna(m["value"]):
        return "–"
    return f"{fmt_num(m['value'])} ({fmt_num(s['value'])})"


def descriptive_table(store, trial, endpoints=None) -> pd.DataFrame:
    """Visit x arm: n, mean (SD) of the value and of the change from baseline. With several
    endpoints, each block starts with a row naming the endpoint."""
    spec = _spec(trial)
    eps = repeated_endpoints(spec) if endpoints is None else tuple(endpoints)
    out = []
    for ep in eps:
        visits = _visits(store, ep.id, "descriptive", "mean")
        if not visits:
            continue
        if len(eps) > 1:
            out.append({"Visit": Markdown(f"**{escape_markdown(short_label(ep))}**")})
        for v in visits:
            row = {"Visit": visit_label(spec, v)}
            for a in trial.arms:
                n = _get(store, ep.id, "n", analysis="descriptive", visit=v, arm=a,
                         group="value")
                row[f"{a} n"] = "–" if n is None else f"{int(n['value'])}"
                row[f"{a} value"] = _mean_sd(store, ep.id, v, a, "value")
                row[f"{a} change"] = ("" if v == spec.baseline_visit
                                      else _mean_sd(store, ep.id, v, a, "change"))
            out.append(row)
    return pd.DataFrame(out).fillna("")


def mmrm_table(store, trial, endpoints=None) -> pd.DataFrame:
    """Per endpoint and visit: LS mean change per arm (SE), difference vs control (95 % CI), p."""
    spec = _spec(trial)
    arms, control = trial.arms, trial.control_arm
    eps = repeated_endpoints(spec) if endpoints is None else tuple(endpoints)
    out = []
    for ep in eps:
        for v in _visits(store, ep.id, "mmrm", "lsmean"):
            row = {"Outcome": short_label(ep), "Visit": visit_label(spec, v)}
            for a in arms:
                ls = _get(store, ep.id, "lsmean", analysis="mmrm", visit=v, arm=a)
                se = _get(store, ep.id, "se", analysis="mmrm", visit=v, arm=a)
                row[f"{a} LS mean (SE)"] = f"{fmt_num(ls['value'])} ({fmt_num(se['value'])})"
            for a in trial.experimental_arms:
                lab = contrast(a, control)
                d = _get(store, ep.id, "difference", analysis="mmrm", visit=v, arm=lab)
                p = _get(store, ep.id, "p_value", analysis="mmrm", visit=v, arm=lab)
                head = "Difference (95% CI)" if len(arms) == 2 else f"{lab} (95% CI)"
                row[head] = f"{fmt_num(d['value'])} ({fmt_ci(d['lower'], d['upper'])})"
                row["p" if len(arms) == 2 else f"p {lab}"] = fmt_p(p["value"])
            out.append(row)
    return pd.DataFrame(out)


def _prop_cells(store, ep, analysis, v, arms, control) -> dict:
    row = {}
    for a in arms:
        x = _get(store, ep, "n_responders", analysis=analysis, visit=v, arm=a)
        pc = _get(store, ep, "percent", analysis=analysis, visit=v, arm=a)
        row[a] = ("–" if pc is None else
                  f"{int(x['value'])}/{int(x['n'])} ({fmt_num(pc['value'], 0)}%)")
    for a in arms:
        if a == control:
            continue
        lab = contrast(a, control)
        rd = _get(store, ep, "risk_difference", analysis=analysis, visit=v, arm=lab)
        head = "RD, percentage points (95% CI)" if len(arms) == 2 else f"RD {lab} (95% CI)"
        row[head] = ("–" if rd is None else
                     f"{fmt_num(rd['value'])} ({fmt_ci(rd['lower'], rd['upper'])})")
    return row


def mcid_table(store, trial, endpoints=None) -> pd.DataFrame:
    """Per endpoint with an MCID and visit: patients reaching it by arm, and the RD."""
    spec = _spec(trial)
    eps = repeated_endpoints(spec) if endpoints is None else tuple(endpoints)
    out = []
    for ep in eps:
        if ep.mcid is None:
            continue
        for v in _visits(store, ep.id, "mcid", "n_responders"):
            out.append({"Outcome": short_label(ep), "Visit": visit_label(spec, v),
                        **_prop_cells(store, ep.id, "mcid", v, trial.arms, trial.control_arm)})
    return pd.DataFrame(out)


def responder_table(store, trial, endpoints=None) -> pd.DataFrame:
    """Per by-visit responder endpoint and visit: responders by arm, and the RD (the
    ``Outcome`` column only with several endpoints)."""
    spec = _spec(trial)
    eps = by_visit_responders(spec) if endpoints is None else tuple(endpoints)
    out = []
    for ep in eps:
        for v in _visits(store, ep.id, "observed", "n_responders"):
            head = {"Outcome": ep.short_label or ep.label} if len(eps) > 1 else {}
            out.append({**head, "Visit": visit_label(spec, v),
                        **_prop_cells(store, ep.id, "observed", v, trial.arms,
                                      trial.control_arm)})
    return pd.DataFrame(out)


def _time_label(spec, ep, v) -> str:
    if ep.derived:
        return visit_label(spec, v)
    return f"{fmt_num(float(v), 0)} {ep.time_unit or ''}".strip()


def time_to_event_table(store, trial, endpoints=None) -> pd.DataFrame:
    """Per time-to-event endpoint and time after 0: KM cumulative proportion with the event
    (95 % CI) and number at risk by arm (``Outcome`` column only with several endpoints)."""
    spec = _spec(trial)
    eps = time_to_event_endpoints(spec) if endpoints is None else tuple(endpoints)
    out = []
    for ep in eps:
        stat = KM_RULE if ep.derived else KM_ADTTE
        for v in _visits(store, ep.id, "primary", stat):
            if float(v) == 0:
                continue
            row = {"Outcome": ep.short_label or ep.label} if len(eps) > 1 else {}
            row["Time"] = _time_label(spec, ep, v)
            for a in trial.arms:
                c = _get(store, ep.id, stat, visit=v, arm=a)
                k = _get(store, ep.id, "n_at_risk", visit=v, arm=a)
                if c is None:
                    row[f"{a} % (95% CI)"], row[f"{a} at risk"] = "–", "–"
                    continue
                row[f"{a} % (95% CI)"] = (f"{fmt_num(c['value'], 0)} "
                                          f"({fmt_ci(c['lower'], c['upper'], 0)})")
                row[f"{a} at risk"] = str(int(k["value"]))
            out.append(row)
    return pd.DataFrame(out)


def hazard_table(store, trial, endpoints=None) -> pd.DataFrame:
    """Per time-to-event endpoint and experimental arm: events/n per arm, HR (95 % CI) with
    its p, log-rank p and the proportional-hazards test p; "not estimable" (saying which arm
    has no event) when the store holds no hazard ratio. A ``Comparison`` column appears with
    more than one experimental arm."""
    spec = _spec(trial)
    eps = time_to_event_endpoints(spec) if endpoints is None else tuple(endpoints)
    out = []
    for ep in eps:
        for a in trial.experimental_arms:
            lab = contrast(a, trial.control_arm)
            hr = _get(store, ep.id, "hazard_ratio", analysis="cox", arm=lab)
            row = {"Outcome": ep.short_label or ep.label, "Comparison": lab}
            counts = {}
            for arm in (a, trial.control_arm):
                n = _get(store, ep.id, "n", analysis="primary", arm=arm)
                x = _get(store, ep.id, "events", analysis="primary", arm=arm)
                if n is None or x is None:
                    break
                counts[arm] = int(x["value"])
                row[f"Events/n {arm}"] = f"{int(x['value'])}/{int(n['value'])}"
            else:
                if hr is None:  # e.g. no event in an arm: the Cox model has no estimate
                    none = [arm for arm, k in counts.items() if k == 0]
                    row["HR (95% CI)"] = ("not estimable" + (
                        f" (no event in {_and(none)})" if none else ""))
                else:
                    row["HR (95% CI)"] = (f"{fmt_num(hr['value'], 2)} "
                                          f"({fmt_ci(hr['lower'], hr['upper'], 2)})")
                for name, an in (("p", "cox"), ("Log-rank p", "logrank"),
                                 ("PH test p", "ph_test")):
                    p = _get(store, ep.id, "p_value", analysis=an, arm=lab)
                    row[name] = fmt_p(p["value"]) if p is not None else "–"
                out.append(row)
    df = pd.DataFrame(out)
    if df.empty:
        return df
    first = ["Outcome", "Comparison"] + [f"Events/n {a}" for a in trial.arms
                                         if f"Events/n {a}" in df.columns]
    df = df[first + [c for c in df.columns if c not in first]].fillna("")
    # one comparison: said by the column headers (a Comparison column with 3+ arms only)
    return df.drop(columns="Comparison") if len(trial.experimental_arms) == 1 else df


# -------------------------------------------------------------------------------- prose
def _and(items: list[str], word: str = "and") -> str:
    """``a, b and c`` (plain ``str`` joins, so that escaped Markdown items stay as they are)."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]


def _name(ep) -> str:
    return ep.name or ep.label


def mmrm_sentence(store, arms, control, alpha: float = 0.05, spec=None) -> str:
    """Computed sentence: how many per-visit MMRM differences of the non-decision repeated
    endpoints had p < ``alpha``, and which."""
    if spec is None:
        from analysis.spec.locate import current_spec

        spec = current_spec()
    eps = repeated_endpoints(spec, decision=False)
    names = {e.id: _name(e) for e in eps}
    unit = time_unit(spec)
    d = store.table
    d = d[(d["analysis"] == "mmrm") & (d["statistic"] == "p_value")
          & d["endpoint"].isin(names)]
    hits = d[d["value"] < alpha].assign(v=lambda x: x["visit"].astype(int))
    hits = hits.sort_values(["v"], kind="mergesort")
    multi = len(arms) > 2
    where = [f"{names[r.endpoint]} at {unit} {r.v}" + (f" ({r.arm})" if multi else "")
             for r in hits.itertuples()]
    n = len(d)
    if not where:
        present = [names[e] for e in names if e in set(d["endpoint"])]
        what = _and(present, "or") if present else "any endpoint"
        return (f"None of the {n} per-visit MMRM comparisons had p < {alpha:g}: no difference "
                f"between the arms was detected in {what} at any visit.")
    what = "comparison" if len(where) == 1 else "comparisons"
    return (f"{len(where)} of the {n} per-visit MMRM comparisons had p < {alpha:g} "
            f"({_and(where)}); with {n} unadjusted comparisons about {n * alpha:.0f} such "
            f"result{'s' if n * alpha >= 1.5 else ''} would be expected by chance alone, so "
            f"these {what} are read as exploratory.")


def _ci(r, digits=1) -> str:
    return f"{fmt_num(r['value'], digits)} (95% CI {fmt_ci(r['lower'], r['upper'], digits)})"


def _unit(ep) -> str:
    """The unit after a number in prose ("" for a score, " points" for a percentage scale)."""
    u = ep.unit or ""
    return "" if u in ("", "score") else (" points" if u == "%" else f" {escape_markdown(u)}")


def mmrm_summary(store, trial) -> Markdown:
    """For each non-decision repeated endpoint and experimental arm: the MMRM difference vs
    control at the primary visit and at the last visit, with 95 % CI and p."""
    spec = _spec(trial)
    control = trial.control_arm
    parts = []
    for ep in repeated_endpoints(spec, decision=False):
        visits = _visits(store, ep.id, "mmrm", "difference")
        if not visits:
            continue
        show = [v for v in dict.fromkeys([spec.primary_visit, visits[-1]]) if v in visits]
        for a in trial.experimental_arms:
            lab = contrast(a, control)
            bits = []
            for v in show:
                r = _get(store, ep.id, "difference", analysis="mmrm", visit=v, arm=lab)
                p = _get(store, ep.id, "p_value", analysis="mmrm", visit=v, arm=lab)
                bits.append(f"{_ci(r)}{_unit(ep)} at {visit_label(spec, v).lower()} "
                            f"(p = {fmt_p(p['value'])})")
            parts.append(f"For {escape_markdown(_name(ep))}, the difference in LS mean change "
                         f"between {escape_markdown(a)} and {escape_markdown(control)} was "
                         f"{_and(bits)}.")
    return Markdown(" ".join(parts))


def mcid_summary(store, trial) -> Markdown:
    """At the primary visit (or the last analysed one): the proportion of each arm reaching
    each endpoint's MCID, with the risk difference vs control."""
    spec = _spec(trial)
    control = trial.control_arm
    parts = []
    for ep in repeated_endpoints(spec, decision=False):
        if ep.mcid is None:
            continue
        visits = _visits(store, ep.id, "mcid", "n_responders")
        if not visits:
            continue
        v = spec.primary_visit if spec.primary_visit in visits else visits[-1]
        pcts = []
        for a in trial.arms:
            pc = _get(store, ep.id, "percent", analysis="mcid", visit=v, arm=a)
            pcts.append(f"{fmt_num(pc['value'], 0)}% of {escape_markdown(a)} patients"
                        if pc is not None else f"no {escape_markdown(a)} patient assessed")
        rds = []
        for a in trial.experimental_arms:
            rd = _get(store, ep.id, "risk_difference", analysis="mcid", visit=v,
                      arm=contrast(a, control))
            if rd is not None:
                rds.append(_ci(rd) + (f" for {escape_markdown(a)}" if len(trial.arms) > 2
                                      else ""))
        tail = f" (risk difference {_and(rds)} percentage points)" if rds else ""
        parts.append(f"At {visit_label(spec, v).lower()}, {_and(pcts)} reached the minimal "
                     f"clinically important improvement in {escape_markdown(_name(ep))}{tail}.")
    return Markdown(" ".join(parts))


def responder_summary(store, trial) -> Markdown:
    """At the last visit: responders / assessed of each arm, per by-visit responder rule."""
    spec = _spec(trial)
    parts = []
    for ep in by_visit_responders(spec):
        visits = _visits(store, ep.id, "observed", "n_responders")
        if not visits:
            continue
        v = visits[-1]
        bits = []
        for a in trial.arms:
            x = _get(store, ep.id, "n_responders", analysis="observed", visit=v, arm=a)
            pc = _get(store, ep.id, "percent", analysis="observed", visit=v, arm=a)
            pct = f" ({fmt_num(pc['value'], 0)}%)" if pc is not None else ""
            bits.append(f"{int(x['value'])} of {int(x['n'])} {escape_markdown(a)} "
                        f"patients{pct}")
        parts.append(f"At {visit_label(spec, v).lower()}, {_and(bits)} met the responder "
                     "rule.")
    return Markdown(" ".join(parts))


def time_to_event_summary(store, trial) -> Markdown:
    """Per time-to-event endpoint: events / n by arm, HR vs control (95 % CI, p), log-rank p
    and the proportional-hazards test."""
    spec = _spec(trial)
    control = trial.control_arm
    parts = []
    for ep in time_to_event_endpoints(spec):
        if _get(store, ep.id, "n", analysis="primary", arm=control) is None:
            continue
        bits = []
        for a in trial.arms:
            n = _get(store, ep.id, "n", analysis="primary", arm=a)
            x = _get(store, ep.id, "events", analysis="primary", arm=a)
            bits.append(f"{int(x['value'])} of {int(n['value'])} {escape_markdown(a)} patients")
        s = (f"{escape_markdown(ep.label)}: {_and(bits)} had the event during follow-up.")
        for a in trial.experimental_arms:
            lab = contrast(a, control)
            hr = _get(store, ep.id, "hazard_ratio", analysis="cox", arm=lab)
            if hr is None:
                continue
            p = {an: fmt_p(_get(store, ep.id, "p_value", analysis=an, arm=lab)["value"])
                 for an in ("cox", "logrank", "ph_test")}
            s += (f" The hazard ratio of {escape_markdown(a)} versus {escape_markdown(control)} "
                  f"was {_ci(hr, 2)} (Cox model, p = {p['cox']}; log-rank p = {p['logrank']}; "
                  f"test of proportional hazards p = {p['ph_test']}).")
        parts.append(s)
    return Markdown(" ".join(parts))


def _cite(source: str | None) -> str:
    return f" [@{source}]" if source else ""


def mcid_methods(spec) -> Markdown:
    """Methods sentence: each endpoint's MCID with its source and direction of improvement."""
    bits = []
    for ep in repeated_endpoints(spec):
        if ep.mcid is None:
            continue
        way = "decrease" if ep.sign < 0 else "increase"
        bits.append(f"an improvement ({way}) of at least {fmt_num(ep.mcid, _decimals(ep.mcid))}"
                    f"{_unit(ep) or ' points'} on the {escape_markdown(_name(ep))}"
                    f"{_cite(ep.mcid_source)}")
    if not bits:
        return Markdown("")
    return Markdown("A patient reached the minimal clinically important difference (MCID) at a "
                    f"visit with {_and(bits, 'and')}.")


def time_to_event_methods(spec) -> Markdown:
    """Methods sentences on how the event times were obtained (derived / ADTTE)."""
    eps = time_to_event_endpoints(spec)
    out = []
    if any(e.derived for e in eps):
        out.append("A time derived from a responder rule runs to the first scheduled visit at "
                   "which the rule held. Visits are scheduled, so the exact time is only known "
                   "to lie between two assessments; the event time was set to the time of that "
                   "visit (the interval censoring is approximated by the visit time).")
        if any(e.derived and e.missed_visit == "skip" for e in eps):
            out.append("A visit without an evaluable responder status was passed over.")
        if any(e.derived and e.missed_visit != "skip" for e in eps):
            out.append("Follow-up was taken to end at the first scheduled visit without an "
                       "evaluable responder status: a patient who had not met the rule by then "
                       "was censored at the last evaluable visit before it, even when later "
                       "visits were attended, and a patient without an evaluable first "
                       "follow-up visit contributed no follow-up and was left out. Every "
                       "patient at risk at a visit was therefore assessed at that visit, and the "
                       "cumulative proportion at the first visit equals the proportion meeting "
                       "the rule among the patients assessed there.")
    if any(not e.derived for e in eps):
        out.append("Times recorded in a time-to-event dataset were used as given (AVAL, with "
                   "CNSR = 1 for a censored time).")
    return Markdown(" ".join(out))


def _decimals(x: float) -> int:
    s = f"{x:g}"
    return len(s.split(".")[1]) if "." in s else 0


def endpoints_sentence(spec, endpoints=None, end: str = "") -> Markdown:
    """Prose: "X and Y were analysed at months 1, 3 and 6" for the repeated endpoints (all by
    default), followed by ``end``."""
    eps = repeated_endpoints(spec) if endpoints is None else tuple(endpoints)
    if not eps:
        return Markdown("")
    visits = spec.analysed_visits(eps[0])
    names = _and([escape_markdown(_name(e)) for e in eps])
    at = _and([str(v) for v in visits])
    return Markdown(f"{names[:1].upper()}{names[1:]} {'was' if len(eps) == 1 else 'were'} "
                    f"analysed at {time_unit(spec)}{'s' if len(visits) > 1 else ''} {at}{end}")


def covariates_phrase(spec) -> str:
    """The adjustment covariates in words ("" when none)."""
    labs = [(c.label or c.column).lower() for c in spec.adjustment]
    return _and(labs) if labs else ""


# ------------------------------------------------------------------------------ outputs
def tables(trial, store) -> dict[str, pd.DataFrame]:
    """Output tables (CSV/XLSX) of the family."""
    spec = _spec(trial)
    out = {f"secondary_descriptive_{ep.id}": descriptive_table(store, trial, [ep])
           for ep in repeated_endpoints(spec)
           if len(store.select(ep.id, analysis="descriptive"))}
    if repeated_endpoints(spec):
        out["secondary_mmrm"] = mmrm_table(store, trial)
    if any(ep.mcid is not None for ep in repeated_endpoints(spec)):
        out["secondary_mcid"] = mcid_table(store, trial)
    if by_visit_responders(spec):
        out["secondary_responders_by_visit"] = responder_table(store, trial)
    for ep in time_to_event_endpoints(spec):
        out[f"secondary_{ep.id}"] = time_to_event_table(store, trial, [ep])
    if time_to_event_endpoints(spec):
        out["secondary_hazard_ratios"] = hazard_table(store, trial)
    return {k: v for k, v in out.items() if not v.empty}


def panels(spec, endpoints=None) -> list:
    """Figure panels: (endpoint id, title, lower is better) per repeated endpoint."""
    from analysis.displays.secondary_plots import Panel

    eps = repeated_endpoints(spec) if endpoints is None else tuple(endpoints)
    return [Panel(e.id, short_label(e), e.sign < 0) for e in eps]


def figures(trial, store) -> dict:
    """Output figures of the family."""
    from analysis.displays import secondary_plots as sp

    spec = _spec(trial)
    unit = time_unit(spec).capitalize()
    out = {}
    pans = [p for p in panels(spec) if len(store.select(p.endpoint, analysis="descriptive"))]
    if pans:
        out["secondary_mean_change"] = sp.mean_change_figure(store, trial.arms, pans,
                                                             xlabel=unit)
        out["secondary_mmrm_forest"] = sp.mmrm_forest_figure(
            store, trial.arms, trial.control_arm, pans, visit_prefix=unit[:1])
    for ep in time_to_event_endpoints(spec):
        stat = KM_RULE if ep.derived else KM_ADTTE
        if not len(store.select(ep.id, statistic=stat)):
            continue
        if ep.derived:
            xlabel = f"{unit}s since randomisation (visit)"
            ylabel = "Responded (%)"
        else:
            xlabel = f"{(ep.time_unit or 'time').capitalize()} since randomisation"
            ylabel = "With the event (%)"
        out[f"secondary_{ep.id}"] = sp.km_figure(store, trial.arms, ep.id, statistic=stat,
                                                 xlabel=xlabel, ylabel=ylabel)
    return out
