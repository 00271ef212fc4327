"""Figures of the single-visit endpoints, drawn from the results store (and, for individual
values, from data frames the family prepares): forest plot of the risk differences,
tipping-point maps, values per patient at baseline and at the visit.

Endpoint ids and labels, analysis labels and the significance level are arguments (the family
takes them from the specification); nothing here imports a family module.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.displays.formatting import fmt_num
from analysis.displays.style import PRINT_WIDTH, favours_labels
from analysis.results import ResultNotFound, contrast

#: Analyses of a binary endpoint in display order, with default labels.
ANALYSES = {"primary": "Primary (observed)", "nri": "Non-responder imputation",
            "mi": "Multiple imputation", "pp": "Per-protocol", "adjusted": "Adjusted",
            "bayes": "Bayesian"}


def _risk_differences(store, arms, control, endpoint, labels):
    for a in [x for x in arms if x != control]:
        c = contrast(a, control)
        for analysis in ANALYSES:
            try:
                rd = store.get(endpoint, "risk_difference", analysis=analysis, arm=c)
            except ResultNotFound:
                continue
            yield a, labels.get(analysis, ANALYSES[analysis]), rd


def forest_rd(store, arms, control, endpoints, labels=None):
    """Risk difference (percentage points, 95 % interval) of every analysis in the store of
    each binary endpoint; ``endpoints`` = ``[(id, label)]``, ``labels`` = analysis labels."""
    labels = labels or ANALYSES
    exp = [a for a in arms if a != control]
    several = len(exp) > 1
    names, est, lo, hi = [], [], [], []
    for eid, elabel in endpoints:
        for a, label, r in _risk_differences(store, arms, control, eid, labels):
            tags = ([elabel] if len(endpoints) > 1 else []) + ([a] if several else [])
            names.append(f"{label} ({', '.join(tags)})" if tags else label)
            est.append(r["value"])
            lo.append(r["lower"])
            hi.append(r["upper"])
    y = np.arange(len(names))[::-1]
    fig, ax = plt.subplots(figsize=(PRINT_WIDTH, 0.4 * len(names) + 1.3))
    ax.errorbar(est, y, xerr=[np.subtract(est, lo), np.subtract(hi, est)], fmt="s",
                color="black", ecolor="black", capsize=3, markersize=5)
    ax.axvline(0, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(y, names)
    ax.set_xlabel(f"Risk difference, percentage points ({' vs '.join([*exp, control])})")
    lim = max(abs(x) for x in ax.get_xlim())
    ax.set_xlim(-lim, lim)  # zero in the middle: each side has room for its label
    favours_labels(ax, control, ", ".join(exp))  # a positive difference favours the new arm
    ax.set_ylim(-1.3, len(names) - 0.5)  # an empty row at the bottom for the labels
    fig.tight_layout()
    return fig


def tipping_grid(store, arm: str, control: str, endpoint: str,
                 stat: str = "p_value") -> pd.DataFrame:
    """Tipping-point grid from the store: rows = assumed rate among the missing of ``arm``,
    columns = assumed rate among the missing of ``control``."""
    rows = store.select(endpoint, analysis="tipping_point", arm=contrast(arm, control),
                        statistic=stat)
    rows = rows[rows["group"].str.startswith("p_exp=")]
    parts = rows["group"].str.extract(r"p_exp=([\d.]+);p_ctl=([\d.]+)").astype(float)
    grid = pd.DataFrame({"exp": parts[0].to_numpy(), "ctl": parts[1].to_numpy(),
                         "value": rows["value"].to_numpy()})
    return grid.pivot(index="exp", columns="ctl", values="value")


def tipping_point(store, arms, control, endpoints, alpha: float = 0.05):
    """p-value (Yates) over assumed response rates among the missing patients of each arm,
    one panel per endpoint (``[(id, label)]``) and experimental arm; cells with p < alpha
    are outlined and the observed-case rates are marked."""
    exp = [a for a in arms if a != control]
    panels = [(eid, elabel, a) for eid, elabel in endpoints for a in exp]
    fig, axes = plt.subplots(len(panels), 1, figsize=(PRINT_WIDTH, 4.6 * len(panels)),
                             squeeze=False)
    for ax, (eid, elabel, a) in zip(axes[:, 0], panels, strict=True):
        p = tipping_grid(store, a, control, eid, "p_value")
        rd = tipping_grid(store, a, control, eid, "risk_difference")
        im = ax.imshow(p.to_numpy(), origin="lower", cmap="viridis", vmin=0, vmax=1,
                       aspect="auto")
        for i in range(p.shape[0]):
            for j in range(p.shape[1]):
                v = p.iat[i, j]
                ax.text(j, i, fmt_num(float(rd.iat[i, j]), 0), ha="center", va="center",
                        fontsize=7, color="white" if v < 0.5 else "black")
                if v < alpha:
                    ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False,
                                               edgecolor="red", linewidth=1.5))
        ax.set_xticks(range(p.shape[1]), [f"{c:.1f}" for c in p.columns], fontsize=7.5)
        ax.set_yticks(range(p.shape[0]), [f"{r:.1f}" for r in p.index], fontsize=7.5)
        ax.set_xlabel(f"Assumed response rate among missing, {control}")
        ax.set_ylabel(f"Assumed response rate among missing, {a}")
        if len(endpoints) > 1:
            ax.set_title(elabel)
        for arm, axis in ((a, "y"), (control, "x")):
            try:
                obs = store.value(eid, "percent", arm=arm, analysis="primary") / 100
            except ResultNotFound:
                continue
            pos = obs * (p.shape[0] - 1)
            (ax.axhline if axis == "y" else ax.axvline)(pos, color="white", linestyle=":",
                                                         linewidth=1)
        fig.colorbar(im, ax=ax, label="p-value (numbers: risk difference, percentage points)")
    fig.tight_layout()
    return fig


def individual_values(panels, arms):
    """Values at baseline and at the visit per patient (grey lines) and arm means (95 % CI)
    of the patients with both, one row per endpoint and one column per arm.

    ``panels`` = ``[(data, label, baseline label, visit label)]`` where ``data`` has the
    columns ``ARM``, ``BASE`` and ``AVAL`` (one row per patient).
    """
    n_rows = len(panels)
    fig, axes = plt.subplots(n_rows, len(arms),
                             figsize=(min(PRINT_WIDTH, 2.9 * len(arms)), 3.6 * n_rows),
                             sharey="row", squeeze=False)
    for row, (d, label, base_label, visit_label) in enumerate(panels):
        for ax, a in zip(axes[row], arms, strict=True):
            g = d[d["ARM"] == a]
            both = g.dropna(subset=["BASE", "AVAL"])
            for _, r in both.iterrows():
                ax.plot([0, 1], [r["BASE"], r["AVAL"]], color="grey", alpha=0.4,
                        linewidth=0.8)
            for x, col in ((0, "BASE"), (1, "AVAL")):
                v = both[col]
                if len(v) > 1:
                    m, se = v.mean(), v.std(ddof=1) / np.sqrt(len(v))
                    ax.errorbar(x, m, yerr=1.96 * se, fmt="o", color="black", capsize=4,
                                zorder=3)
            means = [both["BASE"].mean(), both["AVAL"].mean()]
            ax.plot([0, 1], means, color="black", linewidth=2, zorder=3)
            ax.set_xticks([0, 1], [base_label, visit_label])
            ax.set_xlim(-0.3, 1.3)
            ax.set_title(f"{a} (n\u00a0=\u00a0{len(both)})")
        axes[row][0].set_ylabel(label)
    fig.tight_layout()
    return fig
