"""Figures of the secondary endpoints, drawn from the results store (no statistics here).

* :func:`mean_change_figure`: small multiples, mean change from baseline with 95 % CI per arm
  and visit (arms slightly offset);
* :func:`mmrm_forest_figure`: per-visit MMRM differences with 95 % CI, one panel per outcome;
* :func:`km_figure`: Kaplan-Meier cumulative proportion of responders with the number at risk.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from analysis.displays.style import PRINT_WIDTH, arm_colour, favours_labels
from analysis.families.secondary import ENDPOINTS, LABELS, MCID, TTE

MARKERS = ["o", "s", "^", "D"]


def _rows(store, endpoint, **where):
    return store.select(endpoint, **where)


def _visit_order(visits) -> list[int]:
    """Visits as numbers, in time order (the store holds them as text)."""
    return sorted({int(float(v)) for v in visits if v != ""})


def _by_visit(d):
    """Rows of ``d`` sorted by visit as a number (text order would put 12 before 3)."""
    return d.assign(_t=d["visit"].astype(float)).sort_values("_t", kind="mergesort")


def mean_change_figure(store, arms, endpoints=None):
    """2 x 2 small multiples: observed mean change (95 % CI) by visit and arm."""
    codes = list(endpoints or ENDPOINTS)
    ncol = 2
    nrow = int(np.ceil(len(codes) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(PRINT_WIDTH, 2.5 * nrow), squeeze=False)
    width = 0.12
    for ax, code in zip(axes.ravel(), codes, strict=False):
        ep = ENDPOINTS[code]
        d = _rows(store, ep, analysis="descriptive", group="change", statistic="mean")
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
        ax.set_title(LABELS[code])
        ax.set_xlabel("Month")
        ax.set_ylabel("Mean change (95% CI)")
    for ax in axes.ravel()[len(codes):]:
        ax.set_visible(False)
    axes.ravel()[0].legend(frameon=False)
    fig.tight_layout()
    return fig


def mmrm_forest_figure(store, arms, control, endpoints=None):
    """One panel per outcome: MMRM difference vs control (95 % CI) at each visit, with the
    side that favours each arm written inside the frame (from the outcome's direction of
    improvement, :data:`analysis.families.secondary.MCID`)."""
    codes = list(endpoints or ENDPOINTS)
    contrasts = [f"{a} vs {control}" for a in arms if a != control]
    ncol = 2
    nrow = int(np.ceil(len(codes) / ncol))
    exp = ", ".join(a for a in arms if a != control)
    fig, axes = plt.subplots(nrow, ncol, figsize=(PRINT_WIDTH, 2.5 * nrow), squeeze=False)
    for ax, code in zip(axes.ravel(), codes, strict=False):
        ep = ENDPOINTS[code]
        d = _rows(store, ep, analysis="mmrm", statistic="difference")
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
        ax.set_yticks(np.arange(len(visits))[::-1], [f"M{v}" for v in visits])
        ax.set_ylim(-1.3, len(visits) - 0.5)  # an empty row at the bottom for the labels
        lim = max(abs(x) for x in ax.get_xlim())
        ax.set_xlim(-lim, lim)  # zero in the middle: each side has room for its label
        lower_better = MCID[code]["direction"] < 0
        favours_labels(ax, exp if lower_better else control, control if lower_better else exp)
        ax.set_title(LABELS[code])
        ax.set_xlabel("Difference in LS mean change (95% CI)")
    for ax in axes.ravel()[len(codes):]:
        ax.set_visible(False)
    if len(contrasts) > 1:
        axes.ravel()[0].legend(frameon=False)
    fig.tight_layout()
    return fig


def km_figure(store, arms):
    """Kaplan-Meier cumulative proportion responded by arm (step, 95 % band) with at-risk table."""
    d = _rows(store, TTE, analysis="primary", statistic="cumulative_response")
    risk = _rows(store, TTE, analysis="primary", statistic="n_at_risk")
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
    ax.set_xlim(-0.5, times[-1] + 0.5)
    ax.set_ylim(0, 100)
    ax.set_xticks(times)
    ax.set_xlabel("Months since randomisation (visit)")
    ax.set_ylabel("Responded (%)")
    ax.legend(frameon=False, loc="lower right")
    tab.set_xlim(ax.get_xlim())
    tab.set_ylim(-0.5, len(arms) - 0.5)
    tab.axis("off")
    tab.set_title("Number at risk", fontsize=8, loc="left")
    for k, a in enumerate(arms):
        yk = len(arms) - 1 - k
        tab.text(-0.5, yk, f"{a} ", ha="right", va="center", fontsize=8, color=arm_colour(k))
        rk = risk[risk["arm"] == a]
        for r in rk.itertuples():
            tab.text(float(r.visit), yk, str(int(r.value)), ha="center", va="center", fontsize=8)
    return fig
