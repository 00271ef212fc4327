"""Two-proportion statistics: Wilson interval, Newcombe risk difference, RR, OR, tests.

Proportions are fractions (0-1). Group 1 is the experimental arm, group 2 the control arm,
so a positive risk difference favours group 1 when the event is a success (e.g. response).

The computations are those of statsmodels and scipy (maintained implementations):
``proportion_confint(method="wilson")``, ``confint_proportions_2indep(method="newcomb")``
(Newcombe's method 10: Wilson limits of each proportion, squared and added), ``Table2x2``
for the risk and odds ratios, ``chi2_contingency(correction=True)`` for Yates' test and
``fisher_exact``. This module fixes the conventions around them: fractions, group order,
exact 0/1 Wilson limits at x = 0 or n, the zero-cell corrections, and degenerate tables.

References: Wilson (1927); Newcombe, Stat Med 1998;17:857-72 (single proportion) and
1998;17:873-90 (difference, method 10); Katz et al. 1978 (risk ratio); Woolf 1955 (odds ratio).

Examples
--------
>>> [round(v, 4) for v in newcombe_rd_ci(56, 70, 48, 80)]
[0.2, 0.0524, 0.3339]
>>> [round(v, 4) for v in chisq_yates(37, 50, 34, 49)]
[0.082, 0.7747]
"""

from __future__ import annotations

from scipy import stats


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    return float(stats.norm.ppf(0.5 + level / 2))


def _check(x: int, n: int) -> None:
    if n <= 0 or x < 0 or x > n:
        raise ValueError(f"need 0 <= x <= n and n > 0, got x={x}, n={n}")


def wilson_ci(x: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a single proportion ``x/n`` (no continuity correction).

    statsmodels ``proportion_confint(method="wilson")``, with the limits set exactly to 0
    when ``x == 0`` and to 1 when ``x == n`` (they are so mathematically; floating point
    leaves ~1e-17).

    Parameters
    ----------
    x, n : int
        Events and trials.
    level : float
        Confidence level.

    Returns
    -------
    (lo, hi) : tuple of float
        Limits as fractions.
    """
    from statsmodels.stats.proportion import proportion_confint

    _check(x, n)
    _z(level)
    lo, hi = proportion_confint(x, n, alpha=1 - level, method="wilson")
    lo = 0.0 if x == 0 else float(lo)
    hi = 1.0 if x == n else float(hi)
    return lo, hi


def newcombe_rd_ci(x1: int, n1: int, x2: int, n2: int,
                   level: float = 0.95) -> tuple[float, float, float]:
    """Risk difference ``p1 - p2`` with Newcombe's hybrid score interval (1998, method 10).

    statsmodels ``confint_proportions_2indep(method="newcomb", compare="diff")``: with the
    Wilson intervals ``(l1, u1)`` and ``(l2, u2)`` the limits are
    ``rd - sqrt((p1 - l1)^2 + (u2 - p2)^2)`` and ``rd + sqrt((u1 - p1)^2 + (p2 - l2)^2)``.

    Returns
    -------
    (rd, lo, hi) : tuple of float
    """
    from statsmodels.stats.proportion import confint_proportions_2indep

    _check(x1, n1)
    _check(x2, n2)
    _z(level)
    lo, hi = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff",
                                        alpha=1 - level)
    return x1 / n1 - x2 / n2, float(lo), float(hi)


def _haldane(x1, n1, x2, n2):
    """Cells a, b, c, d, with 0.5 added to each when any cell is zero (Haldane-Anscombe)."""
    a, b, c, d = x1, n1 - x1, x2, n2 - x2
    if min(a, b, c, d) == 0:
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    return a, b, c, d


def _table(a, b, c, d):
    import numpy as np
    from statsmodels.stats.contingency_tables import Table2x2

    return Table2x2(np.array([[a, b], [c, d]], dtype=float), shift_zeros=False)


def risk_ratio(x1: int, n1: int, x2: int, n2: int,
               level: float = 0.95) -> tuple[float, float, float]:
    """Risk ratio ``p1 / p2`` with the log (Katz) interval (statsmodels ``Table2x2``).

    ``SE(log RR) = sqrt(1/x1 - 1/n1 + 1/x2 - 1/n2)``. When ``x1`` or ``x2`` is 0 (and only
    then: a zero non-event cell leaves the ratio finite), 0.5 is added to every cell, i.e.
    0.5 to both event counts and 1 to both denominators (the interval is then approximate).

    Returns
    -------
    (rr, lo, hi) : tuple of float
    """
    _check(x1, n1)
    _check(x2, n2)
    a, b, c, d = x1, n1 - x1, x2, n2 - x2
    if x1 == 0 or x2 == 0:
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    _z(level)
    t = _table(a, b, c, d)
    lo, hi = t.riskratio_confint(alpha=1 - level)
    return float(t.riskratio), float(lo), float(hi)


def odds_ratio(x1: int, n1: int, x2: int, n2: int,
               level: float = 0.95) -> tuple[float, float, float]:
    """Odds ratio with the logit (Woolf) interval (statsmodels ``Table2x2``).

    ``SE(log OR) = sqrt(1/a + 1/b + 1/c + 1/d)``; 0.5 is added to every cell when one is 0
    (Haldane-Anscombe, as ``Table2x2(shift_zeros=True)``).

    Returns
    -------
    (or, lo, hi) : tuple of float
    """
    _check(x1, n1)
    _check(x2, n2)
    _z(level)
    t = _table(*_haldane(x1, n1, x2, n2))
    lo, hi = t.oddsratio_confint(alpha=1 - level)
    return float(t.oddsratio), float(lo), float(hi)


def chisq_yates(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """Pearson chi-square of the 2x2 table with Yates' continuity correction (1 df).

    scipy ``chi2_contingency(correction=True)``: ``sum((max(|O - E| - 0.5, 0))^2 / E)``, the
    correction never exceeding ``|O - E|`` (as R ``chisq.test``). A table with an empty
    column (no events, or only events) has no test: statistic 0, p 1.

    Returns
    -------
    (stat, p) : tuple of float
    """
    _check(x1, n1)
    _check(x2, n2)
    if x1 + x2 == 0 or x1 + x2 == n1 + n2:
        return 0.0, 1.0
    res = stats.chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=True)
    return float(res.statistic), float(res.pvalue)


def fisher_exact(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """Fisher's exact test, two-sided; returns the sample odds ratio and p.

    Returns
    -------
    (or, p) : tuple of float
    """
    _check(x1, n1)
    _check(x2, n2)
    res = stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]], alternative="two-sided")
    return float(res.statistic), float(res.pvalue)
