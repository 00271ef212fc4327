"""Two-proportion statistics against published worked examples and hand computations."""

import math

import numpy as np
import pytest

from analysis.stats import binary

# Newcombe RG. Stat Med 1998;17:873-90, Table II, method 10 (hybrid score, no CC):
# (x1, n1, x2, n2) -> (lower, upper), 4 decimals as published.
NEWCOMBE_1998 = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]

# Newcombe RG. Stat Med 1998;17:857-72, Table I, method 3 (Wilson score, no CC).
WILSON_1998 = [
    ((81, 263), (0.2553, 0.3662)),
    ((15, 148), (0.0624, 0.1605)),
    ((0, 20), (0.0, 0.1611)),
    ((1, 29), (0.0061, 0.1718)),
]


@pytest.mark.parametrize(("counts", "limits"), WILSON_1998)
def test_wilson_matches_newcombe_single_proportion_examples(counts, limits):
    lo, hi = binary.wilson_ci(*counts)
    assert round(lo, 4) == limits[0]
    assert round(hi, 4) == limits[1]


@pytest.mark.parametrize(("counts", "limits"), NEWCOMBE_1998)
def test_newcombe_rd_matches_published_worked_examples(counts, limits):
    x1, n1, x2, n2 = counts
    rd, lo, hi = binary.newcombe_rd_ci(*counts)
    assert rd == pytest.approx(x1 / n1 - x2 / n2)
    assert round(lo, 4) == limits[0]
    assert round(hi, 4) == limits[1]


def test_newcombe_rd_agrees_with_statsmodels_and_antisymmetry():
    from statsmodels.stats.proportion import confint_proportions_2indep

    for x1, n1, x2, n2 in [(37, 50, 34, 49), (6, 7, 2, 7), (1, 40, 12, 35)]:
        rd, lo, hi = binary.newcombe_rd_ci(x1, n1, x2, n2)
        slo, shi = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
        assert (lo, hi) == pytest.approx((slo, shi), abs=1e-10)
        # swapping the groups mirrors the interval
        rd2, lo2, hi2 = binary.newcombe_rd_ci(x2, n2, x1, n1)
        assert (rd2, lo2, hi2) == pytest.approx((-rd, -hi, -lo))


def test_wilson_level_widens_interval():
    lo90, hi90 = binary.wilson_ci(37, 50, level=0.90)
    lo99, hi99 = binary.wilson_ci(37, 50, level=0.99)
    assert lo99 < lo90 < 0.74 < hi90 < hi99


def test_risk_ratio_hand_computed():
    # 10/20 vs 5/20: RR = 2, SE(log) = sqrt(1/10 - 1/20 + 1/5 - 1/20) = sqrt(0.2)
    rr, lo, hi = binary.risk_ratio(10, 20, 5, 20)
    se = math.sqrt(0.2)
    assert rr == pytest.approx(2.0)
    assert lo == pytest.approx(2 * math.exp(-1.959963985 * se))
    assert lo == pytest.approx(0.832456, abs=1e-6)
    assert hi == pytest.approx(4.805061, abs=1e-6)


def test_odds_ratio_hand_computed():
    # a, b, c, d = 10, 10, 5, 15: OR = 150/50 = 3, SE(log) = sqrt(.1 + .1 + .2 + 1/15)
    odds, lo, hi = binary.odds_ratio(10, 20, 5, 20)
    assert odds == pytest.approx(3.0)
    assert lo == pytest.approx(0.786393, abs=1e-6)
    assert hi == pytest.approx(11.444652, abs=1e-6)


def test_rr_or_agree_with_statsmodels_on_published_counts():
    import statsmodels.api as sm

    t = sm.stats.Table2x2(np.array([[37, 13], [34, 15]]))
    rr = binary.risk_ratio(37, 50, 34, 49)
    odds = binary.odds_ratio(37, 50, 34, 49)
    assert rr == pytest.approx((t.riskratio, *t.riskratio_confint()))
    assert odds == pytest.approx((t.oddsratio, *t.oddsratio_confint()))
    assert rr[0] == pytest.approx(0.74 / (34 / 49))
    assert odds[0] == pytest.approx(37 * 15 / (13 * 34))


def test_zero_cells_use_haldane_correction():
    odds, lo, hi = binary.odds_ratio(5, 10, 0, 10)
    assert odds == pytest.approx((5.5 * 10.5) / (5.5 * 0.5))
    assert lo < odds < hi
    rr, lo, hi = binary.risk_ratio(5, 10, 0, 10)
    assert rr == pytest.approx((5.5 / 11) / (0.5 / 11))
    assert math.isfinite(hi)


def test_chisq_yates_hand_computed_small_table():
    # [[3, 1], [1, 3]]: E = 2 everywhere, (|1| - 0.5)^2 / 2 * 4 = 0.5
    stat, p = binary.chisq_yates(3, 4, 1, 4)
    assert stat == pytest.approx(0.5)
    assert p == pytest.approx(0.4795001222)


def test_chisq_yates_published_respine_counts():
    stat, p = binary.chisq_yates(37, 50, 34, 49)
    assert round(p, 4) == 0.7747
    assert stat == pytest.approx(0.0819596662)


def test_chisq_yates_correction_capped_and_degenerate():
    # |O - E| = 0 -> statistic 0, p 1 (correction never overshoots)
    assert binary.chisq_yates(5, 10, 5, 10) == pytest.approx((0.0, 1.0))
    assert binary.chisq_yates(0, 10, 0, 12) == (0.0, 1.0)


def test_fisher_exact_hand_computed():
    # hypergeometric, margins 4/4/4/4: P(k) = C(4,k)C(4,4-k)/70 -> p = (1+16+16+1)/70
    odds, p = binary.fisher_exact(3, 4, 1, 4)
    assert odds == pytest.approx(9.0)
    assert p == pytest.approx(34 / 70)


@pytest.mark.parametrize("bad", [(5, 4, 1, 4), (-1, 4, 1, 4), (1, 0, 1, 4)])
def test_invalid_counts_raise(bad):
    with pytest.raises(ValueError):
        binary.newcombe_rd_ci(*bad)


def _wilson_formula(x, n, z=1.959963984540054):
    p = x / n
    centre = (2 * n * p + z**2) / (2 * (n + z**2))
    half = z * math.sqrt(z**2 + 4 * n * p * (1 - p)) / (2 * (n + z**2))
    return centre - half, centre + half


def _yates_formula(x1, n1, x2, n2):
    obs = [[x1, n1 - x1], [x2, n2 - x2]]
    n, cols = n1 + n2, [x1 + x2, n1 + n2 - x1 - x2]
    return sum(max(abs(obs[i][j] - ni * cj / n) - 0.5, 0.0) ** 2 / (ni * cj / n)
               for i, ni in enumerate((n1, n2)) for j, cj in enumerate(cols))


def test_library_backed_statistics_equal_the_written_out_formulas():
    """Wilson (1927) and Yates (1934) written out, on a grid of tables, including the
    boundaries (x = 0, x = n) where the Wilson limits are exactly 0 and 1."""
    rng = np.random.default_rng(2)
    for _ in range(200):
        n1, n2 = rng.integers(1, 60, 2)
        x1, x2 = rng.integers(0, n1 + 1), rng.integers(0, n2 + 1)
        lo, hi = binary.wilson_ci(x1, n1)
        flo, fhi = _wilson_formula(x1, n1)
        assert lo == (0.0 if x1 == 0 else pytest.approx(flo, abs=1e-13))
        assert hi == (1.0 if x1 == n1 else pytest.approx(fhi, abs=1e-13))
        if 0 < x1 + x2 < n1 + n2:
            stat, p = binary.chisq_yates(x1, n1, x2, n2)
            assert stat == pytest.approx(_yates_formula(x1, n1, x2, n2), rel=1e-12, abs=1e-14)


def test_risk_ratio_keeps_a_zero_non_event_cell_uncorrected():
    # x1 = n1: RR finite without correction; only a zero event count triggers +0.5
    rr, lo, hi = binary.risk_ratio(10, 10, 5, 10)
    assert rr == pytest.approx(2.0)
    se = math.sqrt(1 / 10 - 1 / 10 + 1 / 5 - 1 / 10)
    assert (lo, hi) == pytest.approx((2 * math.exp(-1.959963984540054 * se),
                                      2 * math.exp(1.959963984540054 * se)))
