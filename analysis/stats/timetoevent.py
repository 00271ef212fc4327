"""Time to event: Kaplan-Meier, log-rank, Cox with a proportional-hazards test (lifelines).

Input is one row per subject with ``arm``, ``time`` and ``event`` (1 event, 0 censored), from
an ADTTE dataset (``event = 1 - CNSR``) or derived from a rule over scheduled visits
(:func:`analysis.spec.rules.first_success`). Derived event times fall on visits, so ties are
frequent: the Cox model uses Efron's method.

Examples
--------
>>> tte = pd.DataFrame({"arm": ["A", "A", "B", "B"], "time": [1, 3, 3, 6],
...                     "event": [1, 0, 1, 1]})
>>> km_table(tte, "A")["survival"].round(3).tolist()
[0.5, 0.5]
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

#: Newton-Raphson settings of lifelines' CoxPHFitter: iterate to full convergence. lifelines
#: stops when the step norm or the Newton decrement g'H^-1 g / 2 falls below ``precision``
#: (default 1e-7, which leaves the log HR ~1e-7 off); 1e-24 on the decrement means a step of
#: about 1e-12 / sqrt(information). The relative log-likelihood criterion is switched off.
COX_FIT_OPTIONS = {"precision": 1e-24, "r_precision": 0.0, "max_steps": 200}
#: Time transform of the proportional-hazards test ("km", as R's cox.zph; one value per time)
PH_TIME_TRANSFORM = "km"


def km_table(tte: pd.DataFrame, arm_label: str, level: float = 0.95) -> pd.DataFrame:
    """Kaplan-Meier estimate of one arm at its distinct event/censoring times.

    Columns ``time, at_risk, events, survival, lower, upper`` (lifelines, exponential
    Greenwood limits of the survival).
    """
    from lifelines import KaplanMeierFitter

    d = tte[tte["arm"] == arm_label]
    km = KaplanMeierFitter(alpha=1 - level).fit(d["time"], d["event"], label=str(arm_label))
    times = np.sort(d["time"].unique())
    sf = km.survival_function_at_times(times).to_numpy()
    ci = km.confidence_interval_survival_function_
    lo = ci.iloc[:, 0].reindex(times, method="ffill").to_numpy()
    hi = ci.iloc[:, 1].reindex(times, method="ffill").to_numpy()
    at_risk = np.array([(d["time"] >= t).sum() for t in times])
    events = np.array([d.loc[d["time"] == t, "event"].sum() for t in times])
    return pd.DataFrame({"time": times, "at_risk": at_risk, "events": events,
                         "survival": sf, "lower": lo, "upper": hi})


def km_at(tte: pd.DataFrame, arm_label: str, times, level: float = 0.95) -> pd.DataFrame:
    """Kaplan-Meier survival (with limits) and number at risk at given ``times``."""
    tab = km_table(tte, arm_label, level)
    d = tte[tte["arm"] == arm_label]
    rows = []
    for t in times:
        past = tab[tab["time"] <= t]
        if len(past):
            s, lo, hi = past[["survival", "lower", "upper"]].iloc[-1]
        else:
            s, lo, hi = 1.0, 1.0, 1.0
        rows.append({"time": t, "at_risk": int((d["time"] >= t).sum()),
                     "survival": float(s), "lower": float(lo), "upper": float(hi)})
    return pd.DataFrame(rows)


def median_time(tte: pd.DataFrame, arm_label: str) -> float:
    """Kaplan-Meier median time to event (NaN when not reached)."""
    from lifelines import KaplanMeierFitter

    d = tte[tte["arm"] == arm_label]
    m = KaplanMeierFitter().fit(d["time"], d["event"]).median_survival_time_
    return float(m) if np.isfinite(m) else float("nan")


def logrank(tte: pd.DataFrame, arm_label: str, control: str) -> dict:
    """Two-sample log-rank test of ``arm_label`` vs ``control``: chi-square (1 df) and p."""
    from lifelines.statistics import logrank_test

    a = tte[tte["arm"] == arm_label]
    b = tte[tte["arm"] == control]
    r = logrank_test(a["time"], b["time"], a["event"], b["event"])
    return {"statistic": float(r.test_statistic), "p_value": float(r.p_value)}


def cox(tte: pd.DataFrame, arm_label: str, control: str, level: float = 0.95) -> dict:
    """Cox hazard ratio of ``arm_label`` vs ``control`` (Efron ties) and a PH test.

    The partial likelihood is maximised to full convergence (:data:`COX_FIT_OPTIONS`: Newton
    steps until the Newton decrement is below 1e-24; lifelines' default stops near 1e-7).
    The proportional-hazards check is the Grambsch-Therneau (1994) test on scaled Schoenfeld
    residuals against :data:`PH_TIME_TRANSFORM` of time: the Kaplan-Meier transform, the
    default of R's ``cox.zph``, which gives tied times one value, so the statistic does not
    depend on the order of the rows (a rank transform ranks tied times in row order). This
    is lifelines' ``proportional_hazard_test``, the approximation R's survival used before
    version 3.0.
    Returns ``hr, lower, upper, p_value, ph_statistic, ph_p_value, n, events``.
    """
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    d = tte[tte["arm"].isin([arm_label, control])]
    df = pd.DataFrame({"time": d["time"].to_numpy(float), "event": d["event"].to_numpy(int),
                       "x": (d["arm"] == arm_label).to_numpy(float)})
    cph = CoxPHFitter(alpha=1 - level).fit(df, "time", "event", fit_options=COX_FIT_OPTIONS)
    s = cph.summary.loc["x"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ph = proportional_hazard_test(cph, df, time_transform=PH_TIME_TRANSFORM)
    return {"hr": float(s["exp(coef)"]),
            "lower": float(s[f"exp(coef) lower {level:.0%}"]),
            "upper": float(s[f"exp(coef) upper {level:.0%}"]),
            "p_value": float(s["p"]),
            "ph_statistic": float(ph.summary["test_statistic"].iloc[0]),
            "ph_p_value": float(ph.summary["p"].iloc[0]),
            "n": int(len(df)), "events": int(df["event"].sum())}
