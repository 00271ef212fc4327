"""Figures of the immunogenicity module: de novo positivity by visit, and assay-value trajectories.

Proportions, limits and medians come from the results store, individual lines from the
patient-level data given; parameters, labels, the population key, the threshold's unit and the
visit ticks are arguments (the family passes them from the specification).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from analysis.displays.style import PRINT_WIDTH, arm_colours

#: Values below this floor are drawn at the floor on the log axis.
MFI_FLOOR = 10.0
ANY = "ANY"


def denovo_figure(store, arms, *, classes, labels, population, ticks=None,
                  width: float = PRINT_WIDTH, height: float = 2.8, **_):
    """Percentage with de novo positivity by visit and arm (Wilson 95 % CI), one panel per
    parameter and one for any parameter. ``ticks`` maps AVISITN to its tick label."""
    ticks = ticks or {}
    cls = [c for c in classes if len(store.select(f"denovo_{c}"))] + [ANY]
    colours = arm_colours(arms)
    arms = [a for a in arms if a in set(store.select(population=population)["arm"])]
    fig, axes = plt.subplots(1, len(cls), figsize=(width, height), sharey=True, squeeze=False)
    upper = store.select(population=population, statistic="percent")
    upper = upper.loc[upper["endpoint"].str.startswith("denovo_") & (upper["visit"] != ""), "upper"]
    top = min(100.0, 10 * np.ceil((float(upper.max()) + 5) / 10)) if len(upper) else 100.0
    offsets = np.linspace(-0.15, 0.15, len(arms)) if len(arms) > 1 else [0.0]
    for ax, c in zip(axes[0], cls, strict=True):
        sel = store.select(f"denovo_{c}", statistic="percent", population=population)
        sel = sel.loc[sel["visit"] != ""]
        visits = sorted({float(v) for v in sel["visit"]})
        pos = {v: i for i, v in enumerate(visits)}
        for off, arm in zip(offsets, arms, strict=True):
            s = sel.loc[sel["arm"] == arm].copy()
            if not len(s):
                continue
            s["x"] = s["visit"].astype(float).map(pos) + off
            s = s.sort_values("x")
            yerr = np.vstack([s["value"] - s["lower"], s["upper"] - s["value"]])
            ax.errorbar(s["x"], s["value"], yerr=yerr, fmt="o-", ms=4, lw=1, capsize=2,
                        color=colours[arm], label=arm)
        ax.set_xticks(range(len(visits)), [ticks.get(v, f"{v:g}") for v in visits])
        ax.set_title(labels.get(c, c))
        ax.set_ylim(0, top)
        ax.set_xlim(-0.5, len(visits) - 0.5)
        ax.grid(axis="y", lw=0.3, alpha=0.5)
    axes[0][0].set_ylabel("De novo positive, % (95% CI)")
    return _legend_below(fig, axes[0][0], len(arms))


def mfi_figure(data, store, arms, *, classes, labels, population, unit="Value",
               threshold: float | None = None, times=None, time_label="Visit",
               width: float = PRINT_WIDTH, height: float = 3.0, **_):
    """Assay values over visits on a log scale: one thin line per patient, bold median per arm
    and visit, one panel per parameter.

    ``data`` holds ``USUBJID, PARAMCD, AVISITN, AVAL, ARM`` (the population's patients);
    ``times`` maps AVISITN to the time drawn on the x axis (default: AVISITN). The dashed line
    is the positivity threshold (the store's ``immune_threshold`` row unless given). Values
    below :data:`MFI_FLOOR` are drawn at it.
    """
    times = times or {}
    if threshold is None:
        threshold = store.value("immune_threshold", "mfi", population=population)
    d = data.loc[data["AVAL"].notna()].copy()
    d["X"] = d["AVISITN"].astype(float).map(lambda v: times.get(v, v))
    cls = [c for c in classes if (d["PARAMCD"] == c).any()]
    colours = arm_colours(arms)
    arms = [a for a in arms if a in set(d["ARM"])]
    fig, axes = plt.subplots(1, max(1, len(cls)), figsize=(width, height), sharey=True,
                             squeeze=False)
    for ax, c in zip(axes[0], cls, strict=False):
        dc = d.loc[d["PARAMCD"] == c]
        for arm in arms:
            da = dc.loc[dc["ARM"] == arm].sort_values(["USUBJID", "AVISITN"])
            for _, g in da.groupby("USUBJID", sort=True):
                ax.plot(g["X"], np.maximum(g["AVAL"].astype(float), MFI_FLOOR),
                        color=colours[arm], lw=0.4, alpha=0.25)
            med = store.select(f"mfi_{c}", statistic="median", arm=arm,
                               population=population).copy()
            med["x"] = med["visit"].astype(float).map(lambda v: times.get(v, v))
            med = med.sort_values("x")
            ax.plot(med["x"], np.maximum(med["value"], MFI_FLOOR), "o-", color=colours[arm],
                    lw=2, ms=4, label=f"{arm} (median)")
        ax.axhline(threshold, color="black", ls="--", lw=0.8)
        ax.set_yscale("log")
        xs = sorted(dc["X"].unique())
        ax.set_xticks(xs, [f"{v:g}" for v in xs])
        ax.set_xlabel(time_label)
        ax.set_title(labels.get(c, c))
        ax.grid(axis="y", which="major", lw=0.3, alpha=0.5)
    axes[0][0].set_ylabel(f"{unit} (log scale)")
    return _legend_below(fig, axes[0][0], len(arms))


def _legend_below(fig, ax, ncol: int):
    """One legend for all panels (from ``ax``), centred under the figure; returns ``fig``."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False,
               bbox_to_anchor=(0.5, -0.02))
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig
