"""The CONSORT flow diagram drawn with matplotlib: boxes sized to their text, any number of arms.

The layout is computed in inches from the measured size of every text, so boxes never
overlap and arrows never cross a box, whatever the counts or the length of the reasons.
Stage labels (Enrolment, Allocation, Follow-up, Analysis) run down a strip on the left.

Artists carry a ``gid`` so that tests can check the geometry: ``"box:<name>"`` for boxes,
``"text:<name>"`` for texts, ``"arrow"`` for connectors (annotations with ``xy``/``xyann``),
``"stage:<name>"`` / ``"stagetext:<name>"`` for the stage strip.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

from analysis.displays.style import PRINT_WIDTH

PAD = 0.05  # inches between a box edge and its text
VGAP = 0.22  # vertical gap between rows (room for the arrows)
HGAP = 0.28  # gap between arm columns
SIDE_GAP = 0.35  # from the central arrow to the "excluded" box
STRIP_W = 0.30  # width of the stage strip
STRIP_GAP = 0.18  # between the strip and the boxes
MARGIN = 0.06
LINESPACING = 1.15  # between the lines of a box (matplotlib: multiples of the font size)
BOX_STYLE = {"facecolor": "white", "edgecolor": "#333333", "linewidth": 0.8}
STAGE_STYLE = {"facecolor": "#d6e6f4", "edgecolor": "#6f93b7", "linewidth": 0.6}
ARROW = {"arrowstyle": "-|>", "color": "#333333", "linewidth": 0.8, "shrinkA": 0, "shrinkB": 0,
         "mutation_scale": 8}
STAGES = ("Enrolment", "Allocation", "Follow-up", "Analysis")


@dataclass
class Box:
    """A box: text, its measured size (inches), and its position (left, top; y grows down)."""

    name: str
    text: str
    tw: float
    th: float
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0
    center_text: bool = False

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def bottom(self) -> float:
        return self.y + self.h


def _wrap(text: str, width: int) -> str:
    """Wrap each line at ``width`` characters keeping its indent; continuations indent 2 more."""
    text = re.sub(r"\(n = ([^)]*)\)", "(n\u00a0=\u00a0\\1)", text)  # keep "(n = 5)" whole
    out = []
    for line in text.splitlines():
        indent = " " * (len(line) - len(line.lstrip(" ")))
        out += textwrap.wrap(line.strip(), width=max(10 + len(indent), width),
                             initial_indent=indent, subsequent_indent=indent + "  ",
                             break_on_hyphens=False) or [""]
    return "\n".join(out)


MEASURE_DPIS = (72, 96, 100, 110, 150, 200, 300)  # hinting makes raster text wider at some dpi


def _measure(fig, text: str, fontsize: float, **kw) -> tuple[float, float]:
    """Width and height (inches) of ``text``: the largest over :data:`MEASURE_DPIS` and the
    unhinted outline, so the text fits its box in PDF, SVG and PNG at any usual resolution."""
    t = fig.text(0, 0, text, fontsize=fontsize, **kw)
    w = h = 0.0
    for dpi in MEASURE_DPIS:
        fig.set_dpi(dpi)
        bb = t.get_window_extent(fig.canvas.get_renderer())
        w, h = max(w, bb.width / dpi), max(h, bb.height / dpi)
    t.remove()
    fig.set_dpi(100)
    return w * 1.02, h * 1.02


MIN_WRAP = 20  # narrowest line (characters) tried to fit the diagram in the print width


def draw_consort(texts: dict, *, arms=None, fontsize: float = 7.0, wrap: int = 50,
                 max_width: float = PRINT_WIDTH):
    """Draw the CONSORT diagram of ``texts`` (from :func:`analysis.families.consort.box_texts`).

    Lines are wrapped at ``wrap`` characters, or fewer when the diagram would be wider than
    ``max_width`` inches (the print width), so it is printed at its own size and ``fontsize``
    is the printed size of its text.

    Parameters
    ----------
    texts : dict
        ``randomised`` and (with a screening log) ``assessed`` and ``excluded`` strings;
        ``allocation``, ``followup``, ``analysis`` dicts keyed by arm. Without ``assessed``
        the enrolment stage holds the randomised box only.
    arms : sequence of str, optional
        Column order (default: the keys of ``texts["allocation"]``).
    fontsize : float
        Font size in points; every box is sized to its text at this size.
    wrap : int
        Maximum characters per line in the arm boxes and the "excluded" box.
    max_width : float
        Widest diagram wanted (inches); lines are wrapped shorter until it fits (down to
        :data:`MIN_WRAP` characters).

    Returns
    -------
    matplotlib.figure.Figure
        Sized in inches to the diagram.
    """
    arms = list(arms or texts["allocation"].keys())
    while True:
        fig = _draw(texts, arms, fontsize, wrap)
        if fig.get_size_inches()[0] <= max_width or wrap <= MIN_WRAP:
            return fig
        plt.close(fig)
        wrap = max(MIN_WRAP, wrap - 4)


def _draw(texts: dict, arms: list, fontsize: float, wrap: int):
    """One layout of the diagram at ``wrap`` characters per line (see :func:`draw_consort`)."""
    fig = plt.figure(figsize=(4, 4))
    # data are text: a "$" in a reason is a dollar sign, not mathtext (which could fail)
    font = {"fontsize": fontsize, "linespacing": LINESPACING, "parse_math": False}

    def box(name, text, center=False, width=wrap):
        text = _wrap(text, width) if not center else text
        tw, th = _measure(fig, text, **font)
        return Box(name, text, tw, th, center_text=center)

    enrol = "assessed" in texts  # a screening log: assessed and excluded boxes
    assessed = box("assessed", texts["assessed"], center=True) if enrol else None
    excluded = box("excluded", texts["excluded"], width=wrap + 8) if enrol else None
    randomised = box("randomised", texts["randomised"], center=True)
    rows = {stage: [box(f"{stage}:{a}", texts[stage][a]) for a in arms]
            for stage in ("allocation", "followup", "analysis")}
    stage_len = {s: _measure(fig, s, fontsize=fontsize, fontweight="bold")[0]
                 for s in STAGES}

    # Horizontal layout: equal arm columns right of the stage strip
    col_w = max(b.tw for r in rows.values() for b in r) + 2 * PAD
    x0 = MARGIN + STRIP_W + STRIP_GAP
    n = len(arms)
    centers = [x0 + i * (col_w + HGAP) + col_w / 2 for i in range(n)]
    cx = (centers[0] + centers[-1]) / 2
    centred = [b for b in (assessed, randomised) if b is not None]
    for b in centred:
        b.w, b.h = b.tw + 2 * PAD, b.th + 2 * PAD
        b.x = cx - b.w / 2
    if enrol:
        excluded.w, excluded.h = excluded.tw + 2 * PAD, excluded.th + 2 * PAD
        excluded.x = cx + SIDE_GAP
    # Boxes centred on cx must not reach left of the columns' start
    shift = max(0.0, x0 - min(b.x for b in centred))
    if shift:
        centers = [c + shift for c in centers]
        cx += shift
        for b in (assessed, randomised, excluded):
            if b is not None:
                b.x += shift

    # Vertical layout (y grows downwards from the top margin)
    y = MARGIN
    if enrol:
        assessed.y = y
        excluded.y = assessed.bottom + VGAP
        randomised.y = excluded.bottom + VGAP
        enrol_top = assessed.y
    else:
        randomised.y = y
        enrol_top = randomised.y
    enrol_bottom = randomised.bottom
    if enrol_bottom - enrol_top < stage_len["Enrolment"] + 2 * PAD:
        randomised.y = enrol_top + stage_len["Enrolment"] + 2 * PAD - randomised.h
        enrol_bottom = randomised.bottom
    y = enrol_bottom + 1.5 * VGAP
    split_y = enrol_bottom + 0.6 * VGAP
    spans = {"Enrolment": (enrol_top, enrol_bottom)}
    for stage, label in zip(("allocation", "followup", "analysis"), STAGES[1:], strict=True):
        h = max(max(b.th for b in rows[stage]) + 2 * PAD, stage_len[label] + 2 * PAD)
        for b, c in zip(rows[stage], centers, strict=True):
            b.w, b.h, b.x, b.y = col_w, h, c - col_w / 2, y
        spans[label] = (y, y + h)
        y += h + VGAP
    total_h = y - VGAP + MARGIN
    right = max([centers[-1] + col_w / 2, randomised.x + randomised.w]
                + ([excluded.x + excluded.w, assessed.x + assessed.w] if enrol else []))
    total_w = right + MARGIN

    fig.set_size_inches(total_w, total_h)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, total_w)
    ax.set_ylim(total_h, 0)
    ax.set_axis_off()

    def draw_box(b: Box):
        ax.add_patch(FancyBboxPatch((b.x, b.y), b.w, b.h, boxstyle="square,pad=0",
                                    gid=f"box:{b.name}", **BOX_STYLE))
        if b.center_text:
            ax.text(b.cx, b.y + b.h / 2, b.text, ha="center", va="center",
                    gid=f"text:{b.name}", **font)
        else:
            ax.text(b.x + PAD, b.y + PAD, b.text, ha="left", va="top",
                    gid=f"text:{b.name}", **font)

    def arrow(x1, y1, x2, y2, head=True):
        props = dict(ARROW, arrowstyle="-|>" if head else "-")
        ax.annotate("", xy=(x2, y2), xytext=(x1, y1), arrowprops=props, gid="arrow")

    for b in (assessed, excluded, randomised, *[b for r in rows.values() for b in r]):
        if b is not None:
            draw_box(b)
    if enrol:
        arrow(cx, assessed.bottom, cx, randomised.y)
        arrow(cx, excluded.y + excluded.h / 2, excluded.x, excluded.y + excluded.h / 2)
    arrow(cx, randomised.bottom, cx, split_y, head=False)
    if n > 1:
        arrow(centers[0], split_y, centers[-1], split_y, head=False)
    alloc = rows["allocation"]
    for c, b in zip(centers, alloc, strict=True):
        arrow(c, split_y, c, b.y)
    for upper, lower in (("allocation", "followup"), ("followup", "analysis")):
        for a, b in zip(rows[upper], rows[lower], strict=True):
            arrow(a.cx, a.bottom, b.cx, b.y)

    for label, (top, bottom) in spans.items():
        ax.add_patch(FancyBboxPatch((MARGIN, top), STRIP_W, bottom - top,
                                    boxstyle="round,pad=0,rounding_size=0.05",
                                    gid=f"stage:{label}", **STAGE_STYLE))
        ax.text(MARGIN + STRIP_W / 2, (top + bottom) / 2, label, rotation=90, ha="center",
                va="center", fontsize=fontsize, fontweight="bold", gid=f"stagetext:{label}")
    return fig
