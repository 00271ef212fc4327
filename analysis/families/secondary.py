"""Secondary endpoints over 24 months (family module): VAS, ODI, SF-36 PCS and MCS.

Analyses, all in the intention-to-treat (ITT) population, by randomised arm:

* ``descriptive``: n, mean and SD of the value and of the change from baseline, by arm and
  visit (observed cases), with a t-based 95 % CI of the mean change;
* ``mmrm``: change ~ arm x visit + baseline x visit + country, unstructured covariance, REML,
  inference by :data:`MMRM_DF` with LS means weighted by :data:`LSMEANS_WEIGHTS`
  (:mod:`analysis.stats.mmrm`): LS mean change per arm and visit, difference to the control arm
  with 95 % CI and p;
* ``mcid``: proportion reaching the minimal clinically important improvement (:data:`MCID`)
  by arm and visit, Wilson 95 % CI, risk difference with Newcombe 95 % CI;
* endpoint ``responder_by_visit``: the primary responder rule at every visit (same statistics);
* endpoint ``time_to_response``: Kaplan-Meier, log-rank, Cox HR, PH test
  (:mod:`analysis.stats.timetoevent`).

Store conventions: ``percent`` and its limits are on the 0-100 scale; ``risk_difference`` is in
percentage points (experimental minus control); counts of patients reaching a threshold are
``n_responders`` with the number assessed in ``n`` (and as statistic ``N``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from analysis.displays.formatting import fmt_ci, fmt_num, fmt_p
from analysis.families.derive import derive_responders
from analysis.results import result_row
from analysis.stats.binary import newcombe_rd_ci, wilson_ci
from analysis.stats.mmrm import fit_change_mmrm
from analysis.stats.timetoevent import cox, first_response_times, km_at, logrank, median_time

#: ADQS parameter code -> results-store endpoint
ENDPOINTS = {"VAS": "vas", "ODI": "odi", "SF36PCS": "sf36pcs", "SF36MCS": "sf36mcs"}
#: Short outcome labels for tables and figures
LABELS = {"VAS": "Pain VAS (mm)", "ODI": "ODI (%)", "SF36PCS": "SF-36 PCS",
          "SF36MCS": "SF-36 MCS"}
#: Outcome names for prose
NAMES = {"VAS": "pain VAS", "ODI": "ODI", "SF36PCS": "SF-36 PCS", "SF36MCS": "SF-36 MCS"}
#: Minimal clinically important improvement: threshold, sign of an improvement
#: (-1: lower is better, improvement = BASE - AVAL), and the bibliography key of its source.
MCID = {
    "VAS": {"threshold": 15.0, "direction": -1, "source": "ostelo2008"},
    "ODI": {"threshold": 10.0, "direction": -1, "source": "ostelo2008"},
    "SF36PCS": {"threshold": 4.9, "direction": 1, "source": "copay2008"},
    "SF36MCS": {"threshold": 3.77, "direction": 1, "source": "diazarribas2017"},
}
#: MMRM inference: "kenward-roger" (adjusted SE and df) or "satterthwaite" (model-based SE).
#: Read here until the trial specification supplies it.
MMRM_DF = "kenward-roger"
#: MMRM LS-means weighting of the country levels: "proportional" (observed country mix, the
#: behaviour before the option existed) or "equal" (emmeans / SAS LSMEANS default).
LSMEANS_WEIGHTS = "proportional"
_TOL = 1e-9
TTE = "time_to_response"
RBV = "responder_by_visit"


def itt(trial) -> pd.DataFrame:
    """ITT subjects: ``USUBJID, TRT01P, COUNTRY`` (ITTFL "Y", arm among ``trial.arms``)."""
    a = trial.adsl
    a = a[(a["ITTFL"] == "Y") & a["TRT01P"].isin(trial.arms)]
    return a[["USUBJID", "TRT01P", "COUNTRY"]].reset_index(drop=True)


def post_visits(trial) -> list[int]:
    """Post-baseline visit months present in ADQS."""
    v = pd.unique(trial.adqs.loc[trial.adqs["AVISITN"] > 0, "AVISITN"])
    return sorted(int(x) for x in v)


def _qs(trial, paramcd: str) -> pd.DataFrame:
    q = trial.adqs[trial.adqs["PARAMCD"] == paramcd]
    return q.merge(itt(trial), on="USUBJID", how="inner")


def _contrast(arm: str, control: str) -> str:
    return f"{arm} vs {control}"


# ------------------------------------------------------------------------------ compute
def compute(trial) -> list[dict]:
    """Every secondary-endpoint statistic as results-store rows."""
    rows: list[dict] = []
    for code, ep in ENDPOINTS.items():
        q = _qs(trial, code)
        if q.empty:
            continue
        rows += descriptive_rows(q, ep, trial.arms)
        rows += mmrm_rows(q, ep, trial.arms, trial.control_arm)
        rows += mcid_rows(q, ep, code, trial.arms, trial.control_arm)
    rows += responder_rows(trial)
    rows += time_to_response_rows(trial)
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


def descriptive_rows(q: pd.DataFrame, ep: str, arms) -> list[dict]:
    """n, mean, SD of value (``group="value"``) and change (``group="change"``, with CI)."""
    rows = []
    kw = {"analysis": "descriptive", "population": "ITT observed"}
    for v in sorted(pd.unique(q["AVISITN"])):
        for a in arms:
            d = q[(q["AVISITN"] == v) & (q["TRT01P"] == a)]
            val = d["AVAL"].dropna().to_numpy(float)
            m, sd, _, _ = _mean_ci(val)
            rows += [result_row(ep, "n", len(val), visit=int(v), arm=a, group="value", **kw),
                     result_row(ep, "mean", m, visit=int(v), arm=a, group="value", n=len(val),
                                **kw),
                     result_row(ep, "sd", sd, visit=int(v), arm=a, group="value", **kw)]
            if v == 0:
                continue
            chg = d["CHG"].dropna().to_numpy(float)
            m, sd, lo, hi = _mean_ci(chg)
            rows += [result_row(ep, "n", len(chg), visit=int(v), arm=a, group="change", **kw),
                     result_row(ep, "mean", m, visit=int(v), arm=a, group="change", lower=lo,
                                upper=hi, n=len(chg), **kw),
                     result_row(ep, "sd", sd, visit=int(v), arm=a, group="change", **kw)]
    return rows


def mmrm_rows(q: pd.DataFrame, ep: str, arms, control: str) -> list[dict]:
    """LS mean change per arm and visit, differences vs control, and model summaries."""
    d = q[(q["AVISITN"] > 0) & q["CHG"].notna() & q["BASE"].notna()]
    covs = ("COUNTRY",) if d["COUNTRY"].nunique() > 1 else ()
    fit = fit_change_mmrm(d, arms=list(arms), control=control, covariates=covs,
                          df_method=MMRM_DF, lsmeans_weights=LSMEANS_WEIGHTS)
    kw = {"analysis": "mmrm", "population": "ITT"}
    m = fit.model
    rows = [result_row(ep, "n_subjects", m.n_subjects, **kw),
            result_row(ep, "n_obs", m.n_obs, **kw),
            result_row(ep, "reml_loglik", m.loglik, **kw),
            result_row(ep, "converged", float(m.converged), **kw)]
    for r in fit.lsmeans.itertuples():
        rows += [result_row(ep, "lsmean", r.estimate, visit=r.visit, arm=r.arm, lower=r.lower,
                            upper=r.upper, n=r.n, **kw),
                 result_row(ep, "se", r.se, visit=r.visit, arm=r.arm, **kw)]
    for r in fit.contrasts.itertuples():
        rows += [result_row(ep, "difference", r.estimate, visit=r.visit, arm=r.contrast,
                            lower=r.lower, upper=r.upper, n=r.n, **kw),
                 result_row(ep, "se", r.se, visit=r.visit, arm=r.contrast, **kw),
                 result_row(ep, "df", r.df, visit=r.visit, arm=r.contrast, **kw),
                 result_row(ep, "p_value", r.p_value, visit=r.visit, arm=r.contrast, **kw)]
    return rows


def improved(q: pd.DataFrame, paramcd: str) -> pd.Series:
    """1.0 when the improvement from baseline reaches the MCID, 0.0 if not, NaN if missing."""
    spec = MCID[paramcd]
    gain = spec["direction"] * (q["AVAL"] - q["BASE"])
    out = (gain >= spec["threshold"] - _TOL).astype(float)
    return out.where(gain.notna())


def _proportion_rows(ep, analysis, visit, counts: dict, arms, control) -> list[dict]:
    """Rows for x/n per arm (Wilson) and the RD vs control (Newcombe), percent scale."""
    kw = {"analysis": analysis, "population": "ITT observed", "visit": visit}
    rows = []
    for a in arms:
        x, n = counts[a]
        rows += [result_row(ep, "n_responders", x, arm=a, n=n, **kw),
                 result_row(ep, "N", n, arm=a, **kw)]
        if n:
            lo, hi = wilson_ci(x, n)
            rows.append(result_row(ep, "percent", 100 * x / n, arm=a, lower=100 * lo,
                                   upper=100 * hi, n=n, **kw))
    for a in arms:
        if a == control:
            continue
        (x1, n1), (x2, n2) = counts[a], counts[control]
        if n1 and n2:
            rd, lo, hi = newcombe_rd_ci(x1, n1, x2, n2)
            rows.append(result_row(ep, "risk_difference", 100 * rd, arm=_contrast(a, control),
                                   lower=100 * lo, upper=100 * hi, n=n1 + n2, **kw))
    return rows


def mcid_rows(q: pd.DataFrame, ep: str, paramcd: str, arms, control) -> list[dict]:
    """Proportion reaching the MCID by arm and visit, and risk differences."""
    spec = MCID[paramcd]
    rows = [result_row(ep, "threshold", spec["threshold"], analysis="mcid",
                       population="ITT observed")]
    d = q[q["AVISITN"] > 0].assign(IMPR=lambda x: improved(x, paramcd))
    for v in sorted(pd.unique(d["AVISITN"])):
        counts = {}
        for a in arms:
            s = d.loc[(d["AVISITN"] == v) & (d["TRT01P"] == a), "IMPR"].dropna()
            counts[a] = (int(s.sum()), int(len(s)))
        rows += _proportion_rows(ep, "mcid", int(v), counts, arms, control)
    return rows


def responder_rows(trial) -> list[dict]:
    """The primary responder rule at every post-baseline visit, by arm (observed cases)."""
    subj = itt(trial)
    rows = []
    for v in post_visits(trial):
        r = derive_responders(trial.adqs, v, subjects=subj["USUBJID"]).merge(subj, on="USUBJID")
        r = r[r["EVALFL"] == "Y"]
        counts = {a: (int(r.loc[r["TRT01P"] == a, "RESPONDER"].sum()),
                      int((r["TRT01P"] == a).sum())) for a in trial.arms}
        rows += _proportion_rows(RBV, "observed", v, counts, trial.arms, trial.control_arm)
    return rows


def time_to_response_rows(trial) -> list[dict]:
    """KM cumulative response and numbers at risk by visit, log-rank, Cox HR and PH test."""
    subj = itt(trial)
    tte = first_response_times(trial.adqs, subj, visits=post_visits(trial))
    tte = tte[tte["arm"].isin(trial.arms)]
    times = [0, *post_visits(trial)]
    rows = []
    kw = {"population": "ITT"}
    for a in trial.arms:
        d = tte[tte["arm"] == a]
        rows += [result_row(TTE, "n", len(d), arm=a, **kw),
                 result_row(TTE, "events", int(d["event"].sum()), arm=a, n=len(d), **kw)]
        if d.empty:
            continue
        rows.append(result_row(TTE, "median", median_time(tte, a), arm=a, n=len(d), **kw))
        for r in km_at(tte, a, times).itertuples():
            rows += [result_row(TTE, "cumulative_response", 100 * (1 - r.survival),
                                visit=int(r.time), arm=a, lower=100 * (1 - r.upper),
                                upper=100 * (1 - r.lower), n=r.at_risk, **kw),
                     result_row(TTE, "n_at_risk", r.at_risk, visit=int(r.time), arm=a, **kw)]
    for a in trial.arms:
        if a == trial.control_arm:
            continue
        lab = _contrast(a, trial.control_arm)
        lr = logrank(tte, a, trial.control_arm)
        cx = cox(tte, a, trial.control_arm)
        rows += [result_row(TTE, "chi_square", lr["statistic"], analysis="logrank", arm=lab,
                            **kw),
                 result_row(TTE, "p_value", lr["p_value"], analysis="logrank", arm=lab, **kw),
                 result_row(TTE, "hazard_ratio", cx["hr"], analysis="cox", arm=lab,
                            lower=cx["lower"], upper=cx["upper"], n=cx["n"], **kw),
                 result_row(TTE, "p_value", cx["p_value"], analysis="cox", arm=lab, **kw),
                 result_row(TTE, "events", cx["events"], analysis="cox", arm=lab, n=cx["n"],
                            **kw),
                 result_row(TTE, "chi_square", cx["ph_statistic"], analysis="ph_test", arm=lab,
                            **kw),
                 result_row(TTE, "p_value", cx["ph_p_value"], analysis="ph_test", arm=lab,
                            **kw)]
    return rows


# ------------------------------------------------------------------------------- tables
def _get(store, endpoint, statistic, **where):
    rows = store.select(endpoint, statistic=statistic, **where)
    return rows.iloc[0] if len(rows) == 1 else None


def _visits(store, endpoint, analysis, statistic) -> list[int]:
    v = store.select(endpoint, analysis=analysis, statistic=statistic)["visit"]
    return sorted(int(x) for x in pd.unique(v) if x != "")


def _month(v: int) -> str:
    return "Baseline" if int(v) == 0 else f"Month {int(v)}"


def _mean_sd(store, ep, v, a, group) -> str:
    m = _get(store, ep, "mean", analysis="descriptive", visit=v, arm=a, group=group)
    s = _get(store, ep, "sd", analysis="descriptive", visit=v, arm=a, group=group)
    if m is None or pd.isna(m["value"]):
        return "–"
    return f"{fmt_num(m['value'])} ({fmt_num(s['value'])})"


def descriptive_table(store, paramcd: str, arms) -> pd.DataFrame:
    """Visit x arm: n, mean (SD) of the value and of the change from baseline."""
    ep = ENDPOINTS[paramcd]
    out = []
    for v in _visits(store, ep, "descriptive", "mean"):
        row = {"Visit": _month(v)}
        for a in arms:
            n = _get(store, ep, "n", analysis="descriptive", visit=v, arm=a, group="value")
            row[f"{a} n"] = "–" if n is None else f"{int(n['value'])}"
            row[f"{a} value"] = _mean_sd(store, ep, v, a, "value")
            row[f"{a} change"] = "" if v == 0 else _mean_sd(store, ep, v, a, "change")
        out.append(row)
    return pd.DataFrame(out)


def mmrm_table(store, arms, control) -> pd.DataFrame:
    """Per outcome and visit: LS mean change per arm (SE), difference (95 % CI), p."""
    out = []
    for code, ep in ENDPOINTS.items():
        for v in _visits(store, ep, "mmrm", "lsmean"):
            row = {"Outcome": LABELS[code], "Month": str(v)}
            for a in arms:
                ls = _get(store, ep, "lsmean", analysis="mmrm", visit=v, arm=a)
                se = _get(store, ep, "se", analysis="mmrm", visit=v, arm=a)
                row[f"{a} LS mean (SE)"] = f"{fmt_num(ls['value'])} ({fmt_num(se['value'])})"
            for a in arms:
                if a == control:
                    continue
                lab = _contrast(a, control)
                d = _get(store, ep, "difference", analysis="mmrm", visit=v, arm=lab)
                p = _get(store, ep, "p_value", analysis="mmrm", visit=v, arm=lab)
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
        lab = _contrast(a, control)
        rd = _get(store, ep, "risk_difference", analysis=analysis, visit=v, arm=lab)
        head = "RD, percentage points (95% CI)" if len(arms) == 2 else f"RD {lab} (95% CI)"
        row[head] = ("–" if rd is None else
                     f"{fmt_num(rd['value'])} ({fmt_ci(rd['lower'], rd['upper'])})")
    return row


def mcid_table(store, arms, control) -> pd.DataFrame:
    """Per outcome and visit: patients reaching the MCID by arm, and the risk difference."""
    out = []
    for code, ep in ENDPOINTS.items():
        for v in _visits(store, ep, "mcid", "n_responders"):
            out.append({"Outcome": LABELS[code], "Month": str(v),
                        **_prop_cells(store, ep, "mcid", v, arms, control)})
    return pd.DataFrame(out)


def responder_table(store, arms, control) -> pd.DataFrame:
    """Per visit: responders (primary rule) by arm, and the risk difference."""
    return pd.DataFrame([{"Month": str(v), **_prop_cells(store, RBV, "observed", v, arms, control)}
                         for v in _visits(store, RBV, "observed", "n_responders")])


def time_to_response_table(store, arms) -> pd.DataFrame:
    """Per visit month: KM cumulative proportion responded (95 % CI) and number at risk."""
    out = []
    for v in _visits(store, TTE, "primary", "cumulative_response"):
        if v == 0:
            continue
        row = {"Month": str(v)}
        for a in arms:
            c = _get(store, TTE, "cumulative_response", visit=v, arm=a)
            k = _get(store, TTE, "n_at_risk", visit=v, arm=a)
            row[f"{a} % (95% CI)"] = (f"{fmt_num(c['value'], 0)} "
                                      f"({fmt_ci(c['lower'], c['upper'], 0)})")
            row[f"{a} at risk"] = str(int(k["value"]))
        out.append(row)
    return pd.DataFrame(out)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def mmrm_sentence(store, arms, control, alpha: float = 0.05) -> str:
    """Computed sentence: how many per-visit MMRM differences had p < ``alpha``, and which."""
    d = store.table
    d = d[(d["analysis"] == "mmrm") & (d["statistic"] == "p_value")
          & d["endpoint"].isin(ENDPOINTS.values())]
    names = {ep: NAMES[c] for c, ep in ENDPOINTS.items()}
    hits = d[d["value"] < alpha].assign(v=lambda x: x["visit"].astype(int))
    hits = hits.sort_values(["v"], kind="mergesort")
    multi = len(arms) > 2
    where = [f"{names[r.endpoint]} at month {r.v}" + (f" ({r.arm})" if multi else "")
             for r in hits.itertuples()]
    n = len(d)
    if not where:
        present = [names[ep] for ep in ENDPOINTS.values() if ep in set(d["endpoint"])]
        what = present[0] if len(present) == 1 else ", ".join(present[:-1]) + " or " + present[-1]
        return (f"None of the {n} per-visit MMRM comparisons had p < {alpha:g}: no difference "
                f"between the arms was detected in {what} at any visit.")
    what = "comparison" if len(where) == 1 else "comparisons"
    return (f"{len(where)} of the {n} per-visit MMRM comparisons had p < {alpha:g} "
            f"({_and(where)}); with {n} unadjusted comparisons about {n * alpha:.0f} such "
            f"result{'s' if n * alpha >= 1.5 else ''} would be expected by chance alone, so "
            f"these {what} are read as exploratory.")


def tables(trial, store) -> dict[str, pd.DataFrame]:
    """Output tables (CSV/XLSX) of the family."""
    arms, control = trial.arms, trial.control_arm
    out = {f"secondary_descriptive_{ep}": descriptive_table(store, code, arms)
           for code, ep in ENDPOINTS.items() if len(store.select(ep, analysis="descriptive"))}
    out["secondary_mmrm"] = mmrm_table(store, arms, control)
    out["secondary_mcid"] = mcid_table(store, arms, control)
    out["secondary_responders_by_visit"] = responder_table(store, arms, control)
    out["secondary_time_to_response"] = time_to_response_table(store, arms)
    return out


def figures(trial, store) -> dict:
    """Output figures of the family."""
    from analysis.displays import secondary_plots as sp

    return {"secondary_mean_change": sp.mean_change_figure(store, trial.arms),
            "secondary_mmrm_forest": sp.mmrm_forest_figure(store, trial.arms, trial.control_arm),
            "secondary_time_to_response": sp.km_figure(store, trial.arms)}
