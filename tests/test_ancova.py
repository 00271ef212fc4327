"""ANCOVA against hand computation and a direct least-squares computation."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.stats.ancova import ancova


def test_two_groups_common_slope_hand_computed():
    # C: (0,1) (1,2) (2,3); T: (1,4) (2,5) (3,6.1). Within-group Sxx = 2 + 2, Sxy = 2 + 2.1,
    # common slope 4.1/4 = 1.025; adjusted difference (5.0333 - 2) - 1.025 * (2 - 1) = 2.00833
    d = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.1], "base": [0.0, 1, 2, 1, 2, 3],
                      "arm": ["C", "C", "C", "T", "T", "T"]})
    fit = ancova(d, "y", "arm", ["T", "C"], "C", baseline="base")
    assert fit.contrasts["T"].estimate == pytest.approx(6.1 / 3 + 3 - 2 - 1.025)
    # residuals: C fits 1 + ... ; residual SS by hand: group C residuals around slope 1.025
    # C: ybar 2, xbar 1 -> e = y - 2 - 1.025 (x - 1) = (0.025, 0, -0.025)
    # T: ybar 5.0333, xbar 2 -> e = (-0.00833, -0.03333, 0.04167)
    rss = 2 * 0.025**2 + (1 / 120) ** 2 + (1 / 30) ** 2 + (1 / 24) ** 2
    assert fit.sigma == pytest.approx(np.sqrt(rss / 3))
    assert fit.n == 6 and fit.df_resid == 3
    # adjusted means at mean baseline 1.5: mean_C = 2 + 1.025 * 0.5
    assert fit.adjusted_means["C"].estimate == pytest.approx(2 + 1.025 * 0.5)
    assert fit.adjusted_means["T"].estimate == pytest.approx(6.1 / 3 + 3 - 1.025 * 0.5)


def _fixture(seed=3, n=80):
    rng = np.random.default_rng(seed)
    arm = np.where(rng.random(n) < 0.5, "MSC", "Sham")
    country = rng.choice(["France", "Spain", "Italy"], n)
    base = rng.normal(60, 10, n)
    effect = {"France": 0.0, "Spain": 3.0, "Italy": -2.0}
    y = 20 + 0.6 * base + 4 * (arm == "MSC") + np.vectorize(effect.get)(country) \
        + rng.normal(0, 5, n)
    y[[0, 5]] = np.nan  # incomplete rows are dropped
    return pd.DataFrame({"T2": y, "BASE": base, "ARM": arm, "COUNTRY": country})


def test_matches_direct_least_squares_with_country():
    d = _fixture()
    fit = ancova(d, "T2", "ARM", ["MSC", "Sham"], "Sham", baseline="BASE", factors=["COUNTRY"])
    c = d.dropna()
    X = np.column_stack([np.ones(len(c)), (c.ARM == "MSC").astype(float), c.BASE,
                         (c.COUNTRY == "Italy").astype(float),
                         (c.COUNTRY == "Spain").astype(float)])
    y = c.T2.to_numpy()
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    df = len(y) - X.shape[1]
    s2 = resid @ resid / df
    cov = s2 * np.linalg.inv(X.T @ X)
    se = np.sqrt(cov[1, 1])
    t = stats.t.ppf(0.975, df)
    est = fit.contrasts["MSC"]
    assert est.estimate == pytest.approx(beta[1])
    assert est.se == pytest.approx(se)
    assert (est.lower, est.upper) == pytest.approx((beta[1] - t * se, beta[1] + t * se))
    assert est.p_value == pytest.approx(2 * stats.t.sf(abs(beta[1] / se), df))
    assert fit.n == 78 and fit.df_resid == 73
    # adjusted means differ by exactly the contrast
    diff = fit.adjusted_means["MSC"].estimate - fit.adjusted_means["Sham"].estimate
    assert diff == pytest.approx(beta[1])
    xbar = X.mean(axis=0)
    xbar[1] = 0.0
    assert fit.adjusted_means["Sham"].estimate == pytest.approx(xbar @ beta)
    assert fit.adjusted_means["Sham"].se == pytest.approx(np.sqrt(xbar @ cov @ xbar))


def test_single_level_factor_is_dropped():
    d = _fixture().assign(COUNTRY="France")
    with_f = ancova(d, "T2", "ARM", ["MSC", "Sham"], "Sham", baseline="BASE",
                    factors=["COUNTRY"])
    without = ancova(d, "T2", "ARM", ["MSC", "Sham"], "Sham", baseline="BASE")
    assert with_f.contrasts["MSC"].estimate == pytest.approx(without.contrasts["MSC"].estimate)
