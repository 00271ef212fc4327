"""Beta-binomial risk difference posterior: hand-computed and closed-form checks."""

import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import betaln

from analysis.bayes import prob_greater, rd_posterior


def _closed_form_prob(a1, b1, a2, b2):
    """P(p1 > p2) for integer a1 (E. Miller's closed form): a finite sum of Beta functions."""
    total = 0.0
    for i in range(int(a1)):
        total += math.exp(betaln(a2 + i, b1 + b2) - math.log(b1 + i)
                          - betaln(1 + i, b1) - betaln(a2, b2))
    return total


def test_prob_greater_hand_computed():
    # Beta(2,1) vs Beta(1,2): integral of 2p (2p - p^2) dp over (0, 1) = 4/3 - 1/2
    assert prob_greater(2, 1, 1, 2) == pytest.approx(5 / 6, abs=1e-10)
    # symmetric posteriors: exactly one half
    assert prob_greater(5, 3, 5, 3) == pytest.approx(0.5, abs=1e-10)


@pytest.mark.parametrize("params", [(38, 14, 35, 16), (3, 9, 7, 2), (12, 40, 11, 41)])
def test_prob_greater_matches_closed_form(params):
    assert prob_greater(*params) == pytest.approx(_closed_form_prob(*params), abs=1e-8)


def test_rd_posterior_on_published_counts():
    post = rd_posterior(37, 50, 34, 49)
    # Beta(38, 14) and Beta(35, 16): exact posterior mean
    assert post.mean == pytest.approx(38 / 52 - 35 / 51)
    assert post.prob_positive == pytest.approx(_closed_form_prob(38, 14, 35, 16), abs=1e-8)
    # normal approximation of the difference of two Betas for the interval (close at n ~ 50)
    v = stats.beta(38, 14).var() + stats.beta(35, 16).var()
    assert post.lower == pytest.approx(post.mean - 1.96 * math.sqrt(v), abs=0.01)
    assert post.upper == pytest.approx(post.mean + 1.96 * math.sqrt(v), abs=0.01)
    assert post.lower < post.median < post.upper
    assert post.prior == (1.0, 1.0)


def test_rd_posterior_deterministic_and_prior_matters():
    a = rd_posterior(5, 10, 2, 10, draws=20_000, seed=1)
    b = rd_posterior(5, 10, 2, 10, draws=20_000, seed=1)
    assert a == b
    jeffreys = rd_posterior(5, 10, 2, 10, prior=(0.5, 0.5), draws=20_000, seed=1)
    assert jeffreys.mean == pytest.approx(5.5 / 11 - 2.5 / 11)
    assert jeffreys.mean != a.mean


def test_prob_greater_with_margin():
    # P(p1 - p2 > delta) decreases in delta; agrees with Monte-Carlo
    rng = np.random.default_rng(0)
    d = rng.beta(8, 4, 400_000) - rng.beta(5, 7, 400_000)
    for delta in (0.0, 0.1, 0.3):
        assert prob_greater(8, 4, 5, 7, delta) == pytest.approx((d > delta).mean(), abs=3e-3)
    assert prob_greater(8, 4, 5, 7, 0.3) < prob_greater(8, 4, 5, 7, 0.1)
