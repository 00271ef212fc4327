"""Rubin's rules by hand; MICE-PMM keeps observed data, fills in range, recovers a mean."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.stats.imputation import mice_pmm, nearest_donors, rubin_pool


def test_rubin_pool_hand_computed():
    # Q = 1, 2, 3; U = 1: Qbar 2, W 1, B 1, T = 1 + 4/3, r = 4/3, df = 2 (1 + 3/4)^2 = 6.125
    r = rubin_pool([1.0, 2.0, 3.0], [1.0, 1.0, 1.0])
    assert r.estimate == pytest.approx(2.0)
    assert r.within == pytest.approx(1.0)
    assert r.between == pytest.approx(1.0)
    assert r.variance == pytest.approx(7 / 3)
    assert r.df == pytest.approx(6.125)
    half = stats.t.ppf(0.975, 6.125) * math.sqrt(7 / 3)
    assert (r.lower, r.upper) == pytest.approx((2 - half, 2 + half))
    assert r.p_value == pytest.approx(2 * stats.t.sf(2 / math.sqrt(7 / 3), 6.125))
    assert r.riv == pytest.approx(4 / 3)
    assert r.fmi == pytest.approx((4 / 3 + 2 / 9.125) / (7 / 3))


def test_rubin_pool_no_between_variance_is_normal_interval():
    r = rubin_pool([0.5, 0.5], [0.04, 0.04])
    assert r.variance == pytest.approx(0.04)
    assert math.isinf(r.df)
    assert r.lower == pytest.approx(0.5 - 1.959964 * 0.2, abs=1e-6)


def test_rubin_pool_needs_two_imputations():
    with pytest.raises(ValueError):
        rubin_pool([1.0], [1.0])


def _fixture(n=400, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(50, 10, n)
    y = 10 + 0.8 * x + rng.normal(0, 4, n)  # E[y] = 50
    y_obs = y.copy()
    # missing at random given x: high x more often missing
    prob = 1 / (1 + np.exp(-(x - 55) / 5))
    y_obs[rng.random(n) < prob] = np.nan
    return pd.DataFrame({"x": x, "y": y_obs}), y


def test_mice_pmm_keeps_observed_and_imputes_from_observed_values():
    df, _ = _fixture()
    imps = mice_pmm(df, n_imputations=5, n_iter=3, seed=7)
    assert len(imps) == 5
    obs = df["y"].notna()
    observed_values = set(df.loc[obs, "y"])
    for imp in imps:
        assert not imp.isna().any().any()
        pd.testing.assert_series_equal(imp.loc[obs, "y"], df.loc[obs, "y"])
        assert set(imp.loc[~obs, "y"]) <= observed_values  # PMM donates observed values
        pd.testing.assert_series_equal(imp["x"], df["x"])


def test_mice_pmm_recovers_mean_under_mar_and_is_deterministic():
    df, y_full = _fixture()
    complete_case = df["y"].mean()
    imps = mice_pmm(df, n_imputations=20, n_iter=5, seed=3)
    means = [imp["y"].mean() for imp in imps]
    variances = [imp["y"].var(ddof=1) / len(imp) for imp in imps]
    pooled = rubin_pool(means, variances)
    # complete cases are biased low (high x, high y missing); MI corrects towards the truth
    assert complete_case < y_full.mean() - 2
    assert pooled.estimate == pytest.approx(y_full.mean(), abs=1.0)
    assert pooled.between > 0
    again = mice_pmm(df, n_imputations=20, n_iter=5, seed=3)
    assert [imp["y"].mean() for imp in again] == means


def test_mice_pmm_rejects_column_without_data():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [np.nan, np.nan, 1.0]})
    with pytest.raises(ValueError, match="b"):
        mice_pmm(df, n_imputations=2)


@pytest.mark.parametrize(("n_obs", "donors"), [(500, 5), (7, 5), (3, 5), (10, 1)])
def test_nearest_donors_pool_is_the_brute_force_nearest(n_obs, donors):
    """The sorted search draws only from, and eventually from every one of, the ``donors``
    observed cases nearest by a full distance matrix (the O(n^2) definition)."""
    rng = np.random.default_rng(5)
    yhat_obs = rng.normal(size=n_obs)
    # missing predictions inside, at and beyond the observed range
    yhat_mis = np.r_[rng.normal(size=40), yhat_obs.min() - 3, yhat_obs.max() + 3,
                     yhat_obs[:2]]
    d = min(donors, n_obs)
    dist = np.abs(yhat_obs[None, :] - yhat_mis[:, None])
    expected = [set(np.argsort(row)[:d]) for row in dist]
    seen = [set() for _ in yhat_mis]
    draw = np.random.default_rng(0)
    for _ in range(300):
        for i, k in enumerate(nearest_donors(yhat_obs, yhat_mis, donors, draw)):
            seen[i].add(int(k))
    assert seen == expected
