"""Number formatting for prose and tables (one place, so every display agrees)."""

from __future__ import annotations

import math


def fmt_num(x: float, digits: int = 1) -> str:
    """Fixed decimals; NaN as an en dash. ``fmt_num(2.345, 2) -> '2.35'``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.{digits}f}".replace("-", "−") if x < 0 else f"{x:.{digits}f}"


def fmt_int(x: float) -> str:
    """An integer count. ``fmt_int(37.0) -> '37'``."""
    return "–" if x is None or math.isnan(x) else str(int(round(x)))


def fmt_pct(x: float, digits: int = 0) -> str:
    """A percentage already on the 0-100 scale. ``fmt_pct(74.0) -> '74%'``."""
    return f"{fmt_num(x, digits)}%"


def fmt_p(p: float) -> str:
    """A p-value as journals print it: 2 decimals, 3 below 0.1, ``<0.001`` below that.

    ``fmt_p(0.7747) -> '0.77'``; ``fmt_p(0.0449) -> '0.045'``; ``fmt_p(2e-5) -> '<0.001'``.
    """
    if p is None or math.isnan(p):
        return "–"
    if p < 0.001:
        return "<0.001"
    if p < 0.1:
        return f"{p:.3f}"
    return f"{p:.2f}"


def fmt_ci(lower: float, upper: float, digits: int = 1) -> str:
    """A 95 % interval. ``fmt_ci(-0.1, 0.2) -> '−0.1 to 0.2'``."""
    return f"{fmt_num(lower, digits)} to {fmt_num(upper, digits)}"


def fmt_est_ci(value: float, lower: float, upper: float, digits: int = 1) -> str:
    """Estimate with its interval. ``fmt_est_ci(1, 0.5, 2) -> '1.0 (95% CI 0.5 to 2.0)'``."""
    return f"{fmt_num(value, digits)} (95% CI {fmt_ci(lower, upper, digits)})"
