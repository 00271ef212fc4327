"""Figures of repeated endpoints and times to event, drawn from the results store (no
statistics here, no trial: endpoints, titles and labels come in as arguments).

* :func:`mean_change_figure`: small multiples, mean change from baseline with 95 % CI per arm
  and visit (arms slightly offset), one panel per endpoint;
* :func:`mmrm_forest_figure`: per-visit MMRM differences vs control with 95 % CI, one panel
  per endpoint, one series per experimental arm;
* :func:`km_figure`: Kaplan-Meier cumulative proportion with the event, with the number at
  risk.
"""

from __future__ import annotations

from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np

from analysis.displays.style import PRINT_WIDTH, arm_colour, favours_labels
from analysis.results import contrast

MARKERS = ["o", "s", "^", "D"]


class Panel(NamedTuple):
    """One endpoint's panel: store endpoint id, title, and whether lower values are better."""

    endpoint: str
    title: str
    lower_is_better: bool


def _rows(store, endpoint, **where):
    return store.select(endpoint, **where)


def _visit_order(visits) -> list[int]:
    """Visits as numbers, in time order (the store holds them as text)."""
    return sorted({int(float(v)) for v in visits if v != ""})


def _by_visit(d):
    """Rows of ``d`` sorted by visit as a number (text order would put 12 before 3)."""
    return d.assign(_t=d["visit"].astype(float)).sort_values("_t", kind="mergesort")


def _grid(n: int):
    """Rows and columns of small multiples: one column for one panel, else two."""
    ncol = 1 if n == 1 else 2
    return int(np.ceil(n / ncol)), ncol


def mean_change_figure(store, arms, panels, *, xlabel: str = "Visit"):
    """Small multiples (two per row): observed mean change (95 % CI) by visit and arm, from
    baseline (0) on; visits in time order, labelled by number."""
    panels = list(panels)
    nrow, ncol = _grid(len(panels))
    fig, axes = plt.subplots(nrow, ncol, figsize=(PRINT_WIDTH, 2.5 * nrow), squeeze=False)
    width = 0.12 * 2 / max(len(arms), 2)
    for ax, pan in zip(axes.ravel(), panels, strict=False):
        d = _rows(store, pan.endpoint, analysis="descriptive", group="change",
                  statistic="mean")
        visits = [0, *_visit_order(d["visit"])]
        pos = {v: i for i, v in enumerate(visits)}
        for k, a in enumerate(arms):
            da = _by_visit(d[d["arm"] == a])
            off = (k - (len(arms) - 1) / 2) * width
            x = [pos[0] + off] + [pos[int(v)] + off for v in da["_t"]]
            y = [0.0, *da["value"].tolist()]
            lo = np.r_[0.0, da["lower"].to_numpy()]
            hi = np.r_[0.0, da["upper"].to_numpy()]
            ax.errorbar(x, y, yerr=[np.array(y) - lo, hi - np.array(y)], color=arm_colour(k),
                        marker=MARKERS[k % 4], ms=4, lw=1.2, capsize=2, label=a)
        ax.axhline(0, color="grey", lw=0.6, ls=":")
        ax.set_xticks(range(len(visits)), [str(v) for v in visits])
        ax.set_title(pan.title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Mean change (95% CI)")
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    axes.ravel()[0].legend(frameon=False)
    fig.tight_layout()
    return fig


def mmrm_forest_figure(store, arms, control, panels, *, visit_prefix: str = ""):
    """One panel per endpoint: MMRM difference vs control (95 % CI) at each visit (labelled
    ``visit_prefix`` + number), one series per experimental arm, with the side that favours
    each arm written inside the frame (from the panel's direction of improvement)."""
    panels = list(panels)
    contrasts = [contrast(a, control) for a in arms if a != control]
    nrow, ncol = _grid(len(panels))
    exp = ", ".join(a for a in arms if a != control)
    fig, axes = plt.subplots(nrow, ncol, figsize=(PRINT_WIDTH, 2.5 * nrow), squeeze=False)
    for ax, pan in zip(axes.ravel(), panels, strict=False):
        d = _rows(store, pan.endpoint, analysis="mmrm", statistic="difference")
        visits = _visit_order(d["visit"])
        for k, lab in enumerate(contrasts):
            dc = d[d["arm"] == lab].set_index("visit")
            y = np.arange(len(visits))[::-1] + (k - (len(contrasts) - 1) / 2) * 0.2
            est = np.array([dc.loc[str(v), "value"] for v in visits])
            lo = np.array([dc.loc[str(v), "lower"] for v in visits])
            hi = np.array([dc.loc[str(v), "upper"] for v in visits])
            ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="s", color=arm_colour(k),
                        ms=4, capsize=2, lw=1.2, label=lab)
        ax.axvline(0, color="grey", lw=0.8, ls="--")
        ax.set_yticks(np.arange(len(visits))[::-1], [f"{visit_prefix}{v}" for v in visits])
        ax.set_ylim(-1.3, len(visits) - 0.5)  # an empty row at the bottom for the labels
        lim = max(abs(x) for x in ax.get_xlim())
        ax.set_xlim(-lim, lim)  # zero in the middle: each side has room for its label
        lower_better = pan.lower_is_better
        favours_labels(ax, exp if lower_better else control, control if lower_better else exp)
        ax.set_title(pan.title)
        ax.set_xlabel("Difference in LS mean change (95% CI)")
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    if len(contrasts) > 1:
        axes.ravel()[0].legend(frameon=False)
    fig.tight_layout()
    return fig


def km_figure(store, arms, endpoint, *, statistic="cumulative_response",
              xlabel="Time since randomisation", ylabel="With the event (%)"):
    """Kaplan-Meier cumulative proportion with the event by arm (step, 95 % band) with the
    number at risk below, from the ``statistic`` rows of ``endpoint`` (times in ``visit``)."""
    d = _rows(store, endpoint, analysis="primary", statistic=statistic)
    risk = _rows(store, endpoint, analysis="primary", statistic="n_at_risk")
    times = _visit_order(d["visit"])
    fig = plt.figure(figsize=(PRINT_WIDTH, 4.0))
    ax = fig.add_axes([0.12, 0.36, 0.84, 0.58])
    tab = fig.add_axes([0.12, 0.04, 0.84, 0.18])
    for k, a in enumerate(arms):
        da = d[d["arm"] == a].assign(t=lambda x: x["visit"].astype(float)).sort_values("t")
        if da.empty:
            continue
        t = np.r_[da["t"].to_numpy(), times[-1]]
        y = np.r_[da["value"].to_numpy(), da["value"].iloc[-1]]
        lo = np.r_[da["lower"].to_numpy(), da["lower"].iloc[-1]]
        hi = np.r_[da["upper"].to_numpy(), da["upper"].iloc[-1]]
        ax.step(t, y, where="post", color=arm_colour(k), lw=1.6, label=a)
        ax.fill_between(t, lo, hi, step="post", color=arm_colour(k), alpha=0.12, lw=0)
    pad = max(0.5, times[-1] / 48)
    ax.set_xlim(-pad, times[-1] + pad)
    ax.set_ylim(0, 100)
    ax.set_xticks(times)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False, loc="lower right")
    tab.set_xlim(ax.get_xlim())
    tab.set_ylim(-0.5, len(arms) - 0.5)
    tab.axis("off")
    tab.set_title("Number at risk", fontsize=8, loc="left")
    for k, a in enumerate(arms):
        yk = len(arms) - 1 - k
        tab.text(-pad, yk, f"{a} ", ha="right", va="center", fontsize=8, color=arm_colour(k))
        rk = risk[risk["arm"] == a]
        for r in rk.itertuples():
            tab.text(float(r.visit), yk, str(int(r.value)), ha="center", va="center", fontsize=8)
    return fig
