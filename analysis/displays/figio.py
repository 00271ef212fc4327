"""Deterministic figure files: PDF, SVG and PNG with no timestamps or random ids, and the
printed size of their text."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from analysis.displays.style import PRINT_HEIGHT, PRINT_WIDTH

plt.rcParams["svg.hashsalt"] = "trial-report"
plt.rcParams["svg.fonttype"] = "path"
plt.rcParams["pdf.fonttype"] = 42

#: Resolution of raster exports (print quality; the supplement's TIFFs are 600 dpi).
DPI = 300
FORMATS = ("pdf", "svg", "png")

_META = {
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": "matplotlib"},
    "svg": {"Date": None},
    "png": {"Software": None},
}


def save_figure(fig, stem: str | Path, formats=FORMATS, dpi: int = DPI) -> list[Path]:
    """Save ``fig`` as ``stem.<fmt>`` for each format; returns the written paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        fig.savefig(path, format=fmt, dpi=dpi, metadata=_META.get(fmt), bbox_inches="tight")
        written.append(path)
    return written


def saved_size(fig) -> tuple[float, float]:
    """Width and height in inches of the file :func:`save_figure` writes (the tight box)."""
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    return box.width, box.height


def saved_width(fig) -> float:
    """Width in inches of the file :func:`save_figure` writes."""
    return saved_size(fig)[0]


def print_scale(fig, print_width: float = PRINT_WIDTH,
                print_height: float = PRINT_HEIGHT) -> float:
    """Factor from drawn to printed size: a figure wider than the print width (or taller than
    the print height) is shrunk to fit; a smaller one is printed at its own size."""
    width, height = saved_size(fig)
    return min(1.0, print_width / width, print_height / height)


def printed_font_sizes(fig, print_width: float = PRINT_WIDTH,
                       print_height: float = PRINT_HEIGHT) -> list[tuple[str, float]]:
    """``(text, printed size in points)`` of every visible, non-empty text of ``fig``."""
    scale = print_scale(fig, print_width, print_height)
    out = []
    for t in fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text")):
        if t.get_visible() and t.get_text().strip() and _shown(t):
            out.append((t.get_text(), t.get_fontsize() * scale))
    return out


def _shown(artist) -> bool:
    """False for texts of hidden axes (e.g. an unused panel of a grid)."""
    ax = getattr(artist, "axes", None)
    return ax is None or ax.get_visible()
