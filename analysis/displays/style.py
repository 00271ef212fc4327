"""One look for every figure: arm colours (Okabe-Ito, colour-blind safe) in arm order, and the
print geometry every figure is drawn for.

Figures are drawn at most :data:`PRINT_WIDTH` inches wide (the text width of the A4 PDF: 210 mm
less two 1.25 in margins) and :data:`PRINT_HEIGHT` tall, so they are printed at their own size
and a font size in points is the printed size; no text is smaller than :data:`MIN_FONT_PT`.
"""

from __future__ import annotations

import matplotlib as mpl

ARM_PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]

#: Text width of the PDF page in inches (A4, 1.25 in margins: pandoc's Typst template).
PRINT_WIDTH = 210 / 25.4 - 2 * 1.25
#: Tallest figure printed at its own size: the A4 text height less room for a caption of
#: about five lines (a taller figure is shrunk to fit the page, or its caption is pushed on).
PRINT_HEIGHT = 297 / 25.4 - 2 * 1.25 - 1.0
#: Smallest text size allowed at printed size (points).
MIN_FONT_PT = 7.0
#: Default font sizes (points) of every figure.
FONT = {"font.size": 8.5, "axes.titlesize": 9.0, "axes.labelsize": 8.5,
        "xtick.labelsize": 8.0, "ytick.labelsize": 8.0, "legend.fontsize": 8.0,
        "figure.titlesize": 9.5}

mpl.rcParams.update(FONT)


def arm_colour(index: int) -> str:
    """Colour of the arm at position ``index`` of ``trial.arms``.

    >>> arm_colour(0), arm_colour(6)
    ('#0072B2', '#0072B2')
    """
    return ARM_PALETTE[index % len(ARM_PALETTE)]


def arm_colours(arms) -> dict[str, str]:
    """``{arm: colour}`` in arm order, the same in every figure.

    >>> arm_colours(["Active", "Control"])
    {'Active': '#0072B2', 'Control': '#E69F00'}
    """
    return {a: arm_colour(i) for i, a in enumerate(arms)}


def favours_labels(ax, below: str, above: str, *, fontsize: float = 7.5) -> None:
    """Direction labels inside the frame of a forest plot, in its bottom corners:
    ``below`` for differences below zero (left), ``above`` for those above (right).

    The caller leaves an empty row at the bottom of the y range for them.
    """
    style = {"fontsize": fontsize, "color": "#444444", "transform": ax.transAxes,
             "va": "bottom"}
    ax.text(0.015, 0.02, f"\u2190 favours {below}", ha="left", gid="favours:below", **style)
    ax.text(0.985, 0.02, f"favours {above} \u2192", ha="right", gid="favours:above", **style)
