"""Number formatting for prose and tables (one place, so every display agrees).

Rounding is half away from zero, as readers expect (12.5 -> 13, 0.125 -> 0.13, -12.5 -> -13),
on the shortest decimal string of the value (so 2.675 -> 2.68, although the binary double is
slightly below 2.675); Python's ``round`` and ``format`` round half to even on the binary
value instead. Negative numbers carry a true minus sign (U+2212); a value that rounds to zero
has no sign.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

#: The rounding rule in words, for the methods.
ROUNDING_RULE = "half away from zero (12.5 is shown as 13, and 0.125 as 0.13)"
MINUS = "\u2212"
#: Narrow no-break space (between a number and its unit) and no-break space.
NNBSP, NBSP = "\u202f", "\u00a0"


def round_half_up(x: float, digits: int = 0) -> Decimal:
    """``x`` rounded to ``digits`` decimals, half away from zero, as a Decimal.

    >>> str(round_half_up(12.5)), str(round_half_up(0.125, 2)), str(round_half_up(-12.5))
    ('13', '0.13', '-13')
    """
    return Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def fmt_num(x: float, digits: int = 1) -> str:
    """Fixed decimals, half away from zero; NaN as an en dash. ``fmt_num(2.345, 2) -> '2.35'``."""
    if _missing(x):
        return "–"
    d = round_half_up(x, digits)
    if d == 0:
        d = abs(d)
    text = f"{d:.{digits}f}"
    return MINUS + text[1:] if text.startswith("-") else text


def fmt_int(x: float) -> str:
    """An integer count (half away from zero). ``fmt_int(37.0) -> '37'``."""
    return "–" if _missing(x) else fmt_num(x, 0)


def fmt_pct(x: float, digits: int = 0) -> str:
    """A percentage already on the 0-100 scale. ``fmt_pct(74.0) -> '74%'``."""
    return f"{fmt_num(x, digits)}%"


def fmt_p(p: float) -> str:
    """A p-value as journals print it: 2 decimals, 3 below 0.1, ``<0.001`` below that.

    ``fmt_p(0.7747) -> '0.77'``; ``fmt_p(0.0449) -> '0.045'``; ``fmt_p(2e-5) -> '<0.001'``.
    """
    if _missing(p):
        return "–"
    if p < 0.001:
        return "<0.001"
    if p < 0.1:
        return fmt_num(p, 3)
    return fmt_num(p, 2)


def fmt_p_eq(p: float) -> str:
    """``p = 0.77`` / ``p < 0.001`` for prose and table cells, with no-break spaces so the
    value never wraps away from ``p``."""
    text = fmt_p(p)
    if text.startswith("<"):
        return f"p{NBSP}<{NBSP}{text[1:]}"
    return f"p{NBSP}={NBSP}{text}"


def fmt_ci(lower: float, upper: float, digits: int = 1) -> str:
    """A 95 % interval. ``fmt_ci(-0.1, 0.2) -> '−0.1 to 0.2'``."""
    return f"{fmt_num(lower, digits)} to {fmt_num(upper, digits)}"


def fmt_est_ci(value: float, lower: float, upper: float, digits: int = 1) -> str:
    """Estimate with its interval. ``fmt_est_ci(1, 0.5, 2) -> '1.0 (95% CI 0.5 to 2.0)'``."""
    return f"{fmt_num(value, digits)} (95% CI {fmt_ci(lower, upper, digits)})"
