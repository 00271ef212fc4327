"""Multiple imputation by chained equations (predictive mean matching) and Rubin's rules.

:func:`mice_pmm` imputes the missing cells of a numeric table by chained equations
(van Buuren and Groothuis-Oudshoorn 2011): each incomplete column is regressed on all other
columns, regression parameters are drawn from their posterior (proper imputation; Rubin 1987)
and each missing value is replaced by the observed value of one of the ``donors`` observed
cases whose prediction is closest (predictive mean matching, so imputations stay in range).
:func:`rubin_pool` combines the per-imputation estimates by Rubin's rules.

Why not statsmodels' ``MICEData``: its predictive mean matching is a different method. It
predicts observed *and* missing cases from the same perturbed parameters (van Buuren's
matching type 2; here type 1: observed cases at the least-squares fit, missing cases at the
posterior draw), and its ``"gaussian"`` perturbation draws the coefficients from their
sampling distribution at the estimated residual variance, where van Buuren's ``norm.draw``
(used here) first draws the residual variance from its scaled inverse chi-square posterior;
it also fails when fewer observed cases than donors exist. The donor search itself is the
same sort-and-search idea (:func:`nearest_donors`). Rubin's rules are a few lines
(statsmodels only applies them inside its own ``MICE`` fitting loop).

Examples
--------
>>> r = rubin_pool([1.0, 2.0, 3.0], [1.0, 1.0, 1.0])
>>> round(r.estimate, 3), round(r.variance, 4), round(r.df, 3)
(2.0, 2.3333, 6.125)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class Pooled:
    """An estimate combined over ``m`` imputations by Rubin's rules."""

    estimate: float
    variance: float  # total variance T = W + (1 + 1/m) B
    within: float  # W, mean within-imputation variance
    between: float  # B, between-imputation variance
    df: float  # Rubin (1987) degrees of freedom
    lower: float
    upper: float
    p_value: float  # two-sided, H0: estimate = 0
    m: int

    @property
    def se(self) -> float:
        return math.sqrt(self.variance)

    @property
    def riv(self) -> float:
        """Relative increase in variance due to non-response, (1 + 1/m) B / W."""
        return (1 + 1 / self.m) * self.between / self.within if self.within > 0 else math.inf

    @property
    def fmi(self) -> float:
        """Fraction of missing information, ``(riv + 2/(df + 3)) / (riv + 1)``."""
        r = self.riv
        if math.isinf(r):
            return 1.0
        return (r + 2 / (self.df + 3)) / (r + 1)


def rubin_pool(estimates, variances, level: float = 0.95) -> Pooled:
    """Combine ``m`` estimates and their variances by Rubin's rules (Rubin 1987).

    ``Qbar = mean(Q)``, ``W = mean(U)``, ``B = var(Q, ddof=1)``, ``T = W + (1 + 1/m) B``,
    ``df = (m - 1) (1 + 1/r)^2`` with ``r = (1 + 1/m) B / W``; interval ``Qbar +/- t_df sqrt(T)``.

    Parameters
    ----------
    estimates, variances : sequence of float
        One point estimate and its squared standard error per imputed dataset (m >= 2).
    level : float
        Confidence level of the interval.

    Returns
    -------
    Pooled
    """
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    m = q.size
    if m < 2 or u.size != m:
        raise ValueError("need at least 2 imputations and one variance per estimate")
    qbar = float(q.mean())
    w = float(u.mean())
    b = float(q.var(ddof=1))
    t = w + (1 + 1 / m) * b
    if b == 0:
        df = math.inf
    else:
        r = (1 + 1 / m) * b / w if w > 0 else math.inf
        df = (m - 1) * (1 + 1 / r) ** 2
    crit = stats.t.ppf(0.5 + level / 2, df) if math.isfinite(df) else stats.norm.ppf(
        0.5 + level / 2)
    se = math.sqrt(t)
    if se > 0:
        tstat = qbar / se
        p = 2 * (stats.t.sf(abs(tstat), df) if math.isfinite(df) else stats.norm.sf(abs(tstat)))
    else:
        p = math.nan
    return Pooled(qbar, t, w, b, df, qbar - crit * se, qbar + crit * se, float(p), m)


def mice_pmm(data: pd.DataFrame, n_imputations: int = 50, n_iter: int = 10, seed: int = 2024,
             donors: int = 5) -> list[pd.DataFrame]:
    """Impute the missing cells of a numeric table by chained equations with PMM.

    Parameters
    ----------
    data : DataFrame
        Numeric columns; NaN marks a missing value. Every column needs at least two observed
        values. Rows are cases (e.g. patients), columns are variables (e.g. a score per visit).
    n_imputations : int
        Number of completed datasets ``m``.
    n_iter : int
        Gibbs iterations per chain.
    seed : int
        Seed of the random generator (results are deterministic).
    donors : int
        Donor pool size of predictive mean matching.

    Returns
    -------
    list of DataFrame
        ``m`` completed copies of ``data`` (observed cells unchanged).
    """
    x = data.to_numpy(dtype=float, copy=True)
    miss = np.isnan(x)
    n, k = x.shape
    obs_count = (~miss).sum(axis=0)
    if (obs_count < 2).any():
        bad = list(data.columns[obs_count < 2])
        raise ValueError(f"columns with fewer than 2 observed values: {bad}")
    rng = np.random.default_rng(seed)
    order = [j for j in range(k) if miss[:, j].any()]
    out = []
    for _ in range(n_imputations):
        cur = x.copy()
        for j in order:  # start from random draws of the observed values
            cur[miss[:, j], j] = rng.choice(x[~miss[:, j], j], size=miss[:, j].sum())
        for _ in range(n_iter if order else 0):
            for j in order:
                cur[miss[:, j], j] = _pmm_step(cur, j, miss[:, j], rng, donors)
        out.append(pd.DataFrame(cur, index=data.index, columns=data.columns))
    return out


def _pmm_step(cur: np.ndarray, j: int, mis: np.ndarray, rng: np.random.Generator,
              donors: int) -> np.ndarray:
    """One PMM draw for column ``j`` (Bayesian linear regression, van Buuren's norm.draw)."""
    n, k = cur.shape
    X = np.empty((n, k))  # intercept, then the other columns in order
    X[:, 0] = 1.0
    X[:, 1:j + 1] = cur[:, :j]
    X[:, j + 1:] = cur[:, j + 1:]
    y = cur[:, j]
    obs = ~mis
    xo, yo = X[obs], y[obs]
    p = k
    gram = xo.T @ xo
    xtx = gram + 1e-5 * np.diag(np.diag(gram) + 1e-8)  # ridge for stability
    inv = np.linalg.inv(xtx)
    beta_hat = inv @ xo.T @ yo
    resid = yo - xo @ beta_hat
    dof = max(len(yo) - p, 1)
    sigma = math.sqrt(float(resid @ resid) / rng.chisquare(dof))
    chol = np.linalg.cholesky((inv + inv.T) / 2)
    beta_star = beta_hat + sigma * chol @ rng.standard_normal(p)
    yhat_obs = xo @ beta_hat
    yhat_mis = X[mis] @ beta_star
    pick = nearest_donors(yhat_obs, yhat_mis, donors, rng)
    return yo[pick]


def nearest_donors(yhat_obs: np.ndarray, yhat_mis: np.ndarray, donors: int,
                   rng: np.random.Generator) -> np.ndarray:
    """Index of one donor per missing case, drawn from its ``donors`` nearest observed cases.

    The observed predictions are sorted once (equal predictions, rare with continuous
    covariates, come in the fixed order of numpy's default sort); for each missing case
    :func:`numpy.searchsorted` finds its place, and the ``donors`` nearest lie within
    ``donors`` places on either side. The pool is ordered by distance, ties broken by the
    sorted position, and one member is drawn uniformly. Cost O((n_obs + n_mis) log n_obs)
    instead of the O(n_obs x n_mis) of a full distance matrix.
    """
    n_obs = len(yhat_obs)
    d = min(donors, n_obs)
    order = np.argsort(yhat_obs)
    sorted_obs = yhat_obs[order]
    width = min(2 * d, n_obs)
    start = np.searchsorted(sorted_obs, yhat_mis) - d
    start = np.clip(start, 0, n_obs - width)
    window = start[:, None] + np.arange(width)[None, :]  # sorted positions, increasing
    dist = np.abs(sorted_obs[window] - yhat_mis[:, None])
    rank = np.argsort(dist, axis=1, kind="stable")[:, :d]  # nearest first, ties by position
    pool = np.take_along_axis(window, rank, axis=1)
    chosen = pool[np.arange(len(yhat_mis)), rng.integers(0, d, size=len(yhat_mis))]
    return order[chosen]
