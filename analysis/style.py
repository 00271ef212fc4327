"""One look for every figure: arm colours (Okabe-Ito, colour-blind safe) in arm order."""

from __future__ import annotations

ARM_PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]


def arm_colour(index: int) -> str:
    """Colour of the arm at position ``index`` of ``trial.arms``.

    >>> arm_colour(0), arm_colour(6)
    ('#0072B2', '#0072B2')
    """
    return ARM_PALETTE[index % len(ARM_PALETTE)]


def arm_colours(arms) -> dict[str, str]:
    """``{arm: colour}`` in arm order, the same in every figure.

    >>> arm_colours(["BM-MSC", "Sham"])
    {'BM-MSC': '#0072B2', 'Sham': '#E69F00'}
    """
    return {a: arm_colour(i) for i, a in enumerate(arms)}
