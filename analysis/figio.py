"""Deterministic figure files: PDF, SVG and PNG with no timestamps or random ids."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

plt.rcParams["svg.hashsalt"] = "respine"
plt.rcParams["svg.fonttype"] = "path"
plt.rcParams["pdf.fonttype"] = 42

_META = {
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": "matplotlib"},
    "svg": {"Date": None},
    "png": {"Software": None},
}


def save_figure(fig, stem: str | Path, formats=("pdf", "svg", "png"), dpi: int = 200) -> list[Path]:
    """Save ``fig`` as ``stem.<fmt>`` for each format; returns the written paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        fig.savefig(path, format=fmt, dpi=dpi, metadata=_META.get(fmt), bbox_inches="tight")
        written.append(path)
    return written
