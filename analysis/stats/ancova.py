"""Analysis of covariance: follow-up value on arm, baseline value and factors (OLS).

Examples
--------
>>> import pandas as pd
>>> d = pd.DataFrame({"y": [1., 2., 3., 4., 5., 6.1], "base": [0., 1., 2., 1., 2., 3.],
...                   "arm": ["C", "C", "C", "T", "T", "T"]})
>>> fit = ancova(d, "y", "arm", ["T", "C"], "C", baseline="base")
>>> round(fit.contrasts["T"].estimate, 3)  # (5.033 - 2) - 1.025 * (2 - 1), common slope 1.025
2.008
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats


@dataclass(frozen=True)
class Estimate:
    """An estimate with standard error, confidence limits and (for contrasts) a p-value."""

    estimate: float
    se: float
    lower: float
    upper: float
    p_value: float = float("nan")


@dataclass(frozen=True)
class AncovaFit:
    """Adjusted arm contrasts versus control and adjusted (marginal) arm means."""

    contrasts: dict  # arm -> Estimate of (arm - control)
    adjusted_means: dict  # arm -> Estimate of the mean with all patients set to that arm
    n: int
    df_resid: float
    sigma: float  # residual standard deviation
    formula: str


def ancova(data: pd.DataFrame, outcome: str, arm: str, arms, control: str,
           baseline: str | None = None, factors=(), level: float = 0.95,
           covariates=()) -> AncovaFit:
    """Fit ``outcome ~ arm + baseline + factors`` by least squares on complete rows.

    Parameters
    ----------
    data : DataFrame
        One row per patient.
    outcome, arm, baseline : str
        Column names; ``baseline`` is a continuous covariate (optional).
    arms : sequence of str
        The arm labels (control included); other rows are dropped.
    control : str
        The reference arm of the contrasts.
    factors : sequence of str
        Categorical covariates (e.g. a region or centre column), coded by indicators.
    level : float
        Confidence level.
    covariates : sequence of str
        Further continuous covariates (after the baseline), each one coefficient.

    Returns
    -------
    AncovaFit
        Contrasts ``arm - control`` with t-based intervals and two-sided p, and adjusted means
        averaged over the observed covariate distribution (counterfactual predictions).
    """
    cols = [outcome, arm] + ([baseline] if baseline else []) + list(covariates) + list(factors)
    d = data.loc[data[arm].isin(list(arms)), cols].dropna()
    others = [a for a in arms if a != control]
    X, names = _design(d, arm, others, baseline, factors, covariates)
    y = d[outcome].to_numpy(float)
    res = sm.OLS(y, X).fit()
    crit = stats.t.ppf(0.5 + level / 2, res.df_resid)
    params, cov = np.asarray(res.params), np.asarray(res.cov_params())
    contrasts = {}
    for i, a in enumerate(others, start=1):
        est, se = float(params[i]), float(np.sqrt(cov[i, i]))
        contrasts[a] = Estimate(est, se, est - crit * se, est + crit * se,
                                float(2 * stats.t.sf(abs(est / se), res.df_resid)))
    means = {}
    for a in arms:
        xbar = X.mean(axis=0)
        xbar[1:1 + len(others)] = [1.0 if a == o else 0.0 for o in others]
        est = float(xbar @ params)
        se = float(np.sqrt(xbar @ cov @ xbar))
        means[a] = Estimate(est, se, est - crit * se, est + crit * se)
    formula = f"{outcome} ~ " + " + ".join(names[1:])
    return AncovaFit(contrasts, means, int(res.nobs), float(res.df_resid),
                     float(np.sqrt(res.scale)), formula)


def _design(d: pd.DataFrame, arm: str, others, baseline, factors, covariates=()):
    """Design matrix: intercept, arm indicators, baseline, continuous covariates, factor
    indicators (first level in sorted order is the reference; factors with one level are
    dropped)."""
    cols = [np.ones(len(d))]
    names = ["(Intercept)"]
    for a in others:
        cols.append((d[arm] == a).to_numpy(float))
        names.append(f"{arm}[{a}]")
    if baseline:
        cols.append(d[baseline].to_numpy(float))
        names.append(baseline)
    for c in covariates:
        cols.append(d[c].to_numpy(float))
        names.append(c)
    for f in factors:
        levels = sorted(d[f].astype(str).unique())
        for lev in levels[1:]:
            cols.append((d[f].astype(str) == lev).to_numpy(float))
            names.append(f"{f}[{lev}]")
    return np.column_stack(cols), names
