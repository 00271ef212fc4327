import math

from analysis.displays.formatting import fmt_ci, fmt_est_ci, fmt_int, fmt_num, fmt_p, fmt_pct


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


def test_rounding_is_half_away_from_zero_on_the_decimal_value():
    assert fmt_num(12.5, 0) == "13"  # Python's round/format give 12 (half to even)
    assert fmt_num(-12.5, 0) == "−13"
    assert fmt_num(0.125, 2) == "0.13"  # the double is 0.125 exactly: half to even gives 0.12
    assert fmt_num(2.675, 2) == "2.68"  # the double is 2.67499999...: its shortest repr decides
    assert fmt_pct(12.5) == "13%"
    assert fmt_int(36.5) == "37"
    assert fmt_p(0.125) == "0.13"


def test_no_sign_on_a_value_that_rounds_to_zero():
    assert fmt_num(-0.04, 1) == "0.0"
    assert fmt_num(-0.05, 1) == "−0.1"


def test_p_with_its_sign_never_breaks():
    from analysis.displays.formatting import fmt_p_eq

    assert fmt_p_eq(0.7747) == "p\u00a0=\u00a00.77"
    assert fmt_p_eq(0.00001) == "p\u00a0<\u00a00.001"
