import math

from analysis.formatting import fmt_ci, fmt_est_ci, fmt_int, fmt_num, fmt_p, fmt_pct


def test_fmt_p_journal_style():
    assert fmt_p(0.7747) == "0.77"
    assert fmt_p(0.0449) == "0.045"
    assert fmt_p(0.0004) == "<0.001"
    assert fmt_p(math.nan) == "–"


def test_numbers_and_intervals():
    assert fmt_num(4.6122, 1) == "4.6"
    assert fmt_num(-12.904, 1) == "−12.9"
    assert fmt_int(37.0) == "37"
    assert fmt_pct(69.387755, 0) == "69%"
    assert fmt_ci(-12.904, 21.824) == "−12.9 to 21.8"
    assert fmt_est_ci(4.61, -12.9, 21.82) == "4.6 (95% CI −12.9 to 21.8)"
