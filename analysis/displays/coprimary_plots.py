"""Figures of the co-primary endpoints, drawn from the results store (and the trial for
individual values): forest plot of the risk difference, tipping-point map, T2 per patient."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from analysis.displays.formatting import fmt_num
from analysis.displays.style import PRINT_WIDTH, favours_labels
from analysis.families.coprimary import (
    ALPHA,
    ENDPOINT,
    VISIT,
    risk_differences,
    t2_data,
    tipping_grid,
)
from analysis.results import ResultNotFound


def forest_rd(store, arms, control):
    """Risk difference (percentage points, 95 % interval) of every responder analysis."""
    exp = [a for a in arms if a != control]
    several = len(exp) > 1
    labels, est, lo, hi = [], [], [], []
    for a, _c, _analysis, label, r in risk_differences(store, arms, control):
        labels.append(f"{label} ({a})" if several else label)
        est.append(r["value"])
        lo.append(r["lower"])
        hi.append(r["upper"])
    y = np.arange(len(labels))[::-1]
    fig, ax = plt.subplots(figsize=(PRINT_WIDTH, 0.4 * len(labels) + 1.3))
    ax.errorbar(est, y, xerr=[np.subtract(est, lo), np.subtract(hi, est)], fmt="s",
                color="black", ecolor="black", capsize=3, markersize=5)
    ax.axvline(0, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(y, labels)
    ax.set_xlabel(f"Risk difference, percentage points ({' vs '.join([*exp, control])})")
    lim = max(abs(x) for x in ax.get_xlim())
    ax.set_xlim(-lim, lim)  # zero in the middle: each side has room for its label
    favours_labels(ax, control, ", ".join(exp))  # a positive difference favours the new arm
    ax.set_ylim(-1.3, len(labels) - 0.5)  # an empty row at the bottom for the labels
    fig.tight_layout()
    return fig


def tipping_point(store, arms, control):
    """p-value (Yates) over assumed response rates among the missing patients of each arm;
    cells with p < alpha are outlined and the observed-case rates are marked."""
    exp = [a for a in arms if a != control]
    fig, axes = plt.subplots(len(exp), 1, figsize=(PRINT_WIDTH, 4.6 * len(exp)), squeeze=False)
    axes = axes.T
    for ax, a in zip(axes[0], exp, strict=True):
        p = tipping_grid(store, a, control, "p_value")
        rd = tipping_grid(store, a, control, "risk_difference")
        im = ax.imshow(p.to_numpy(), origin="lower", cmap="viridis", vmin=0, vmax=1,
                       aspect="auto")
        for i in range(p.shape[0]):
            for j in range(p.shape[1]):
                v = p.iat[i, j]
                ax.text(j, i, fmt_num(float(rd.iat[i, j]), 0), ha="center", va="center",
                        fontsize=7, color="white" if v < 0.5 else "black")
                if v < ALPHA:
                    ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False,
                                               edgecolor="red", linewidth=1.5))
        ax.set_xticks(range(p.shape[1]), [f"{c:.1f}" for c in p.columns], fontsize=7.5)
        ax.set_yticks(range(p.shape[0]), [f"{r:.1f}" for r in p.index], fontsize=7.5)
        ax.set_xlabel(f"Assumed response rate among missing, {control}")
        ax.set_ylabel(f"Assumed response rate among missing, {a}")
        for arm, axis in ((a, "y"), (control, "x")):
            try:
                obs = store.value(ENDPOINT, "percent", arm=arm) / 100
            except ResultNotFound:
                continue
            pos = obs * (p.shape[0] - 1)
            (ax.axhline if axis == "y" else ax.axvline)(pos, color="white", linestyle=":",
                                                         linewidth=1)
        fig.colorbar(im, ax=ax, label="p-value (numbers: risk difference, percentage points)")
    fig.tight_layout()
    return fig


def t2_individual(trial):
    """T2 at baseline and month 12 per patient (grey lines) and arm means (95 % CI) of the
    patients with both examinations, per arm."""
    d = t2_data(trial)
    fig, axes = plt.subplots(1, len(trial.arms),
                             figsize=(min(PRINT_WIDTH, 2.9 * len(trial.arms)), 3.6),
                             sharey=True, squeeze=False)
    for ax, a in zip(axes[0], trial.arms, strict=True):
        g = d[d["ARM"] == a]
        both = g.dropna(subset=["BASE_T2", "T2"])
        for _, r in both.iterrows():
            ax.plot([0, 1], [r["BASE_T2"], r["T2"]], color="grey", alpha=0.4, linewidth=0.8)
        for x, col in ((0, "BASE_T2"), (1, "T2")):
            v = both[col]
            if len(v) > 1:
                m, se = v.mean(), v.std(ddof=1) / np.sqrt(len(v))
                ax.errorbar(x, m, yerr=1.96 * se, fmt="o", color="black", capsize=4, zorder=3)
        means = [both["BASE_T2"].mean(), both["T2"].mean()]
        ax.plot([0, 1], means, color="black", linewidth=2, zorder=3)
        ax.set_xticks([0, 1], ["Baseline", f"Month {VISIT}"])
        ax.set_xlim(-0.3, 1.3)
        ax.set_title(f"{a} (n\u00a0=\u00a0{len(both)})")
    axes[0][0].set_ylabel("Disc T2 (ms)")
    fig.tight_layout()
    return fig
