"""Bayesian re-analysis of two proportions with independent Beta priors.

With a ``Beta(a, b)`` prior on each arm's response probability and ``x`` responders out of
``n``, the posterior is ``Beta(a + x, b + n - x)``. The posterior of the risk difference
``D = p1 - p2`` is summarised exactly, without sampling: its distribution function
``P(D <= d)`` is a one-dimensional integral of the two Beta distributions (adaptive
quadrature, :func:`scipy.integrate.quad`), the median and the equal-tailed credible limits
are the roots of ``P(D <= d) = q`` (:func:`scipy.optimize.brentq`), and ``P(D > 0)`` is the
same integral at 0. scipy has no distribution of a difference of Betas, hence these few lines.

Examples
--------
>>> post = rd_posterior(1, 1, 0, 1)  # Beta(2, 1) vs Beta(1, 2)
>>> round(post.prob_positive, 4)
0.8333
>>> round(rd_posterior(0, 0, 0, 0).lower, 4)  # two uniforms: triangular, sqrt(0.05) - 1
-0.7764
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import integrate, optimize, special

DEFAULT_PRIOR = (1.0, 1.0)  # uniform Beta(1, 1) prior on each arm's response probability
_QUAD = {"limit": 200, "epsabs": 1e-13, "epsrel": 1e-11}
_XTOL = 1e-12  # root-finding tolerance of the quantiles (fraction scale)
_TAIL = 1e-16  # mass of each tail of p1 left out of the quadrature


@dataclass(frozen=True)
class RDPosterior:
    """Posterior summary of ``p1 - p2`` (fractions), computed exactly."""

    mean: float
    median: float
    lower: float  # equal-tailed credible interval
    upper: float
    prob_positive: float  # P(p1 - p2 > 0 | data)
    prior: tuple[float, float]


def _support(a: float, b: float) -> tuple[float, float]:
    """An interval holding all but ~1e-16 of the mass of ``Beta(a, b)`` on each side."""
    return float(special.betaincinv(a, b, _TAIL)), float(special.betainccinv(a, b, _TAIL))


def prob_greater(a1: float, b1: float, a2: float, b2: float, delta: float = 0.0) -> float:
    """``P(p1 - p2 > delta)`` for independent ``p1 ~ Beta(a1, b1)``, ``p2 ~ Beta(a2, b2)``.

    Computed as ``integral f1(p) F2(p - delta) dp`` over ``p`` in ``(max(delta, 0), 1)``
    for ``delta`` in ``[-1, 1]``. Beyond ``p = 1 + delta`` (``delta < 0``), ``F2 = 1`` and the
    integral is ``1 - F1(1 + delta)``; the quadrature runs only over the range holding all but
    ~1e-16 of each tail of ``p1`` (large trials have very concentrated posteriors).
    """
    if delta >= 1:
        return 0.0
    if delta <= -1:
        return 1.0
    log_norm = special.betaln(a1, b1)

    def integrand(p):
        f1 = math.exp(special.xlogy(a1 - 1, p) + special.xlog1py(b1 - 1, -p) - log_norm)
        return f1 * float(special.betainc(a2, b2, min(max(p - delta, 0.0), 1.0)))

    s_lo, s_hi = _support(a1, b1)
    kink = 1.0 + delta
    lo = max(delta, 0.0, s_lo)
    hi = min(kink, s_hi)
    val = 0.0
    if hi > lo:
        val, _ = integrate.quad(integrand, lo, hi, **_QUAD)
    if delta < 0:
        val += float(special.betaincc(a1, b1, kink))  # P(p1 > 1 + delta), where F2 = 1
    return float(min(max(val, 0.0), 1.0))


def rd_cdf(d: float, a1: float, b1: float, a2: float, b2: float) -> float:
    """``P(p1 - p2 <= d)``, the posterior distribution function of the risk difference."""
    return 1.0 - prob_greater(a1, b1, a2, b2, d)


def rd_quantile(q: float, a1: float, b1: float, a2: float, b2: float) -> float:
    """The ``q`` quantile of ``p1 - p2``: the root of ``rd_cdf(d) = q`` on ``(-1, 1)``."""
    if not 0 < q < 1:
        raise ValueError(f"q must be in (0, 1), got {q}")
    lo1, hi1 = _support(a1, b1)
    lo2, hi2 = _support(a2, b2)
    lo, hi = max(lo1 - hi2, -1.0), min(hi1 - lo2, 1.0)  # D lies here but for ~1e-16

    def f(d):
        return rd_cdf(d, a1, b1, a2, b2) - q

    if f(lo) > 0:
        lo = -1.0
    if f(hi) < 0:
        hi = 1.0
    return float(optimize.brentq(f, lo, hi, xtol=_XTOL, rtol=1e-14, maxiter=200))


def rd_posterior(x1: int, n1: int, x2: int, n2: int, prior: tuple[float, float] = DEFAULT_PRIOR,
                 level: float = 0.95) -> RDPosterior:
    """Posterior of the risk difference ``p1 - p2`` under independent Beta priors.

    Parameters
    ----------
    x1, n1, x2, n2 : int
        Responders and patients in arm 1 (experimental) and arm 2 (control).
    prior : (a, b)
        The same ``Beta(a, b)`` prior for both arms.
    level : float
        Credible level (equal-tailed).

    Returns
    -------
    RDPosterior
        Exact mean, median, credible limits and ``P(p1 - p2 > 0)`` (no simulation error).
    """
    a, b = prior
    a1, b1 = a + x1, b + n1 - x1
    a2, b2 = a + x2, b + n2 - x2
    tail = (1 - level) / 2
    return RDPosterior(
        mean=float(a1 / (a1 + b1) - a2 / (a2 + b2)),
        median=rd_quantile(0.5, a1, b1, a2, b2),
        lower=rd_quantile(tail, a1, b1, a2, b2),
        upper=rd_quantile(1 - tail, a1, b1, a2, b2),
        prob_positive=prob_greater(a1, b1, a2, b2), prior=(float(a), float(b)),
    )
