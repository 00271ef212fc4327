"""Bayesian re-analysis of two proportions with independent Beta priors.

With a ``Beta(a, b)`` prior on each arm's response probability and ``x`` responders out of
``n``, the posterior is ``Beta(a + x, b + n - x)``. The posterior of the risk difference
``p1 - p2`` is summarised from exact Monte-Carlo draws with a fixed seed; the probability
``P(p1 - p2 > delta)`` is computed by numerical integration (no Monte-Carlo error).

Examples
--------
>>> post = rd_posterior(1, 1, 0, 1)  # Beta(2, 1) vs Beta(1, 2)
>>> round(post.prob_positive, 4)
0.8333
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import integrate, stats

DEFAULT_PRIOR = (1.0, 1.0)  # uniform Beta(1, 1) prior on each arm's response probability
DEFAULT_DRAWS = 200_000
DEFAULT_SEED = 20240601


@dataclass(frozen=True)
class RDPosterior:
    """Posterior summary of ``p1 - p2`` (fractions)."""

    mean: float
    median: float
    lower: float  # equal-tailed credible interval
    upper: float
    prob_positive: float  # P(p1 - p2 > 0 | data)
    prior: tuple[float, float]
    draws: int


def prob_greater(a1: float, b1: float, a2: float, b2: float, delta: float = 0.0) -> float:
    """``P(p1 - p2 > delta)`` for independent ``p1 ~ Beta(a1, b1)``, ``p2 ~ Beta(a2, b2)``.

    Computed as ``integral f1(p) F2(p - delta) dp`` over ``p`` in ``(max(delta, 0), 1)``.
    """
    f1 = stats.beta(a1, b1)
    f2 = stats.beta(a2, b2)
    lo = max(delta, 0.0)
    if lo >= 1:
        return 0.0
    val, _ = integrate.quad(lambda p: f1.pdf(p) * f2.cdf(p - delta), lo, 1.0, limit=200,
                            epsabs=1e-12, epsrel=1e-10)
    return float(min(max(val, 0.0), 1.0))


def rd_posterior(x1: int, n1: int, x2: int, n2: int, prior: tuple[float, float] = DEFAULT_PRIOR,
                 level: float = 0.95, draws: int = DEFAULT_DRAWS,
                 seed: int = DEFAULT_SEED) -> RDPosterior:
    """Posterior of the risk difference ``p1 - p2`` under independent Beta priors.

    Parameters
    ----------
    x1, n1, x2, n2 : int
        Responders and patients in arm 1 (experimental) and arm 2 (control).
    prior : (a, b)
        The same ``Beta(a, b)`` prior for both arms.
    level : float
        Credible level (equal-tailed).
    draws : int
        Monte-Carlo draws for the mean, median and interval.
    seed : int
        Random seed (the summary is deterministic).

    Returns
    -------
    RDPosterior
    """
    a, b = prior
    a1, b1 = a + x1, b + n1 - x1
    a2, b2 = a + x2, b + n2 - x2
    rng = np.random.default_rng(seed)
    rd = rng.beta(a1, b1, draws) - rng.beta(a2, b2, draws)
    tail = (1 - level) / 2
    lo, med, hi = np.quantile(rd, [tail, 0.5, 1 - tail])
    return RDPosterior(
        mean=float(a1 / (a1 + b1) - a2 / (a2 + b2)),  # exact
        median=float(med), lower=float(lo), upper=float(hi),
        prob_positive=prob_greater(a1, b1, a2, b2), prior=(float(a), float(b)), draws=draws,
    )
