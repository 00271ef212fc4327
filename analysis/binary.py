"""Two-proportion statistics: Wilson interval, Newcombe risk difference, RR, OR, tests.

Proportions are fractions (0-1). Group 1 is the experimental arm, group 2 the control arm,
so a positive risk difference favours group 1 when the event is a success (e.g. response).

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

import math

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

    Parameters
    ----------
    x, n : int
        Events and trials.
    level : float
        Confidence level.

    Returns
    -------
    (lo, hi) : tuple of float
        Limits as fractions; exactly 0 when ``x == 0`` and 1 when ``x == n``.
    """
    _check(x, n)
    z = _z(level)
    p = x / n
    centre = (2 * n * p + z**2) / (2 * (n + z**2))
    half = z * math.sqrt(z**2 + 4 * n * p * (1 - p)) / (2 * (n + z**2))
    lo = 0.0 if x == 0 else centre - half
    hi = 1.0 if x == n else centre + half
    return lo, hi


def newcombe_rd_ci(x1: int, n1: int, x2: int, n2: int,
                   level: float = 0.95) -> tuple[float, float, float]:
    """Risk difference ``p1 - p2`` with Newcombe's hybrid score interval (1998, method 10).

    The limits combine the Wilson intervals ``(l1, u1)`` and ``(l2, u2)``:
    ``rd - sqrt((p1 - l1)^2 + (u2 - p2)^2)`` and ``rd + sqrt((u1 - p1)^2 + (p2 - l2)^2)``.

    Returns
    -------
    (rd, lo, hi) : tuple of float
    """
    _check(x1, n1)
    _check(x2, n2)
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_ci(x1, n1, level)
    l2, u2 = wilson_ci(x2, n2, level)
    rd = p1 - p2
    lo = rd - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = rd + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return rd, lo, hi


def _haldane(x1, n1, x2, n2):
    """Cells a, b, c, d, with 0.5 added to each when any cell is zero (Haldane-Anscombe)."""
    a, b, c, d = x1, n1 - x1, x2, n2 - x2
    if min(a, b, c, d) == 0:
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    return a, b, c, d


def risk_ratio(x1: int, n1: int, x2: int, n2: int,
               level: float = 0.95) -> tuple[float, float, float]:
    """Risk ratio ``p1 / p2`` with the log (Katz) interval.

    ``SE(log RR) = sqrt(1/x1 - 1/n1 + 1/x2 - 1/n2)``. When ``x1`` or ``x2`` is 0, 0.5 is
    added to both event counts and 1 to both denominators (the interval is then approximate).

    Returns
    -------
    (rr, lo, hi) : tuple of float
    """
    _check(x1, n1)
    _check(x2, n2)
    if x1 == 0 or x2 == 0:
        x1, n1, x2, n2 = x1 + 0.5, n1 + 1, x2 + 0.5, n2 + 1
    rr = (x1 / n1) / (x2 / n2)
    se = math.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    z = _z(level)
    return rr, rr * math.exp(-z * se), rr * math.exp(z * se)


def odds_ratio(x1: int, n1: int, x2: int, n2: int,
               level: float = 0.95) -> tuple[float, float, float]:
    """Odds ratio with the logit (Woolf) interval.

    ``SE(log OR) = sqrt(1/a + 1/b + 1/c + 1/d)``; 0.5 is added to every cell when one is 0.

    Returns
    -------
    (or, lo, hi) : tuple of float
    """
    _check(x1, n1)
    _check(x2, n2)
    a, b, c, d = _haldane(x1, n1, x2, n2)
    odds = (a * d) / (b * c)
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    z = _z(level)
    return odds, odds * math.exp(-z * se), odds * math.exp(z * se)


def chisq_yates(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """Pearson chi-square of the 2x2 table with Yates' continuity correction (1 df).

    ``sum((max(|O - E| - 0.5, 0))^2 / E)``, the correction never exceeding ``|O - E|``
    (as R ``chisq.test`` and ``scipy.stats.chi2_contingency``).

    Returns
    -------
    (stat, p) : tuple of float
    """
    _check(x1, n1)
    _check(x2, n2)
    obs = [[x1, n1 - x1], [x2, n2 - x2]]
    n = n1 + n2
    cols = [x1 + x2, n - x1 - x2]
    if 0 in cols:
        return 0.0, 1.0
    stat = 0.0
    for i, ni in enumerate((n1, n2)):
        for j, cj in enumerate(cols):
            e = ni * cj / n
            dev = max(abs(obs[i][j] - e) - 0.5, 0.0)
            stat += dev**2 / e
    return stat, float(stats.chi2.sf(stat, 1))


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
