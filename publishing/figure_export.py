"""Journal-ready figure files: vector PDF and SVG, and TIFF at 600 dpi (LZW) sized for a column.

A figure is scaled (aspect ratio kept) so that its saved width is a journal column: single
(:data:`SINGLE_MM`, for figures drawn up to :data:`SINGLE_MAX_IN` inches wide) or double
(:data:`DOUBLE_MM`). Fonts are embedded in the PDF (TrueType, ``pdf.fonttype`` 42) and drawn
as paths in the SVG; no file carries a date or a random id, so equal figures give equal bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SINGLE_MM = 85.0
DOUBLE_MM = 175.0
SINGLE_MAX_IN = 4.5
DPI = 600
MM_PER_IN = 25.4
RC = {"pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "path", "svg.hashsalt": "trial-report"}
META = {"pdf": {"CreationDate": None, "ModDate": None, "Producer": "matplotlib",
                "Creator": "Trial report supplement"},
        "svg": {"Date": None, "Creator": "Trial report supplement"}}


def column(fig) -> str:
    """``"single"`` or ``"double"``: the column a figure is drawn for (by its width)."""
    return "single" if fig.get_figwidth() <= SINGLE_MAX_IN else "double"


def target_width_in(fig) -> float:
    """Width in inches of the column of ``fig``."""
    return (SINGLE_MM if column(fig) == "single" else DOUBLE_MM) / MM_PER_IN


def _tight_width(fig) -> float:
    """Width in inches of ``fig`` saved with a tight bounding box."""
    renderer = fig.canvas.get_renderer()
    return fig.get_tightbbox(renderer).width + 2 * plt.rcParams["savefig.pad_inches"]


def fit_to_column(fig, iterations: int = 3) -> float:
    """Scale ``fig`` (aspect kept) so its tight-bbox width is its column; returns that width."""
    target = target_width_in(fig)
    for _ in range(iterations):
        w = _tight_width(fig)
        if abs(w - target) < 0.005:
            break
        k = target / w
        fig.set_size_inches(fig.get_figwidth() * k, fig.get_figheight() * k)
    return target


def export(fig, stem: str | Path, dpi: int = DPI) -> dict[str, Path]:
    """Write ``stem.pdf``, ``stem.svg`` and ``stem.tiff`` of ``fig`` sized for its column.

    The TIFF is RGB, LZW-compressed, ``dpi`` dots per inch, exactly the column width in pixels.
    The figure is resized in place (save the original sizes before, if they matter).
    """
    from PIL import Image

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = {}
    with plt.rc_context(RC):
        width = fit_to_column(fig)
        for fmt in ("pdf", "svg"):
            path = stem.with_suffix(f".{fmt}")
            fig.savefig(path, format=fmt, metadata=META[fmt], bbox_inches="tight")
            out[fmt] = path
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight",
                    metadata={"Software": None}, facecolor="white")
    img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    px = round(width * dpi)
    if img.width != px:  # pad or crop the rounding remainder (a few pixels at most)
        canvas = Image.new("RGB", (px, img.height), "white")
        canvas.paste(img.crop((0, 0, min(px, img.width), img.height)),
                     ((px - min(px, img.width)) // 2, 0))
        img = canvas
    path = stem.with_suffix(".tiff")
    img.save(path, format="TIFF", compression="tiff_lzw", dpi=(dpi, dpi))
    out["tiff"] = path
    return out
