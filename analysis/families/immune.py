"""Immunogenicity (family module): antibodies against the product, from the module settings.

Runs only when the specification declares the ``immunogenicity`` module and its dataset is
present; otherwise :func:`compute` returns no rows and :func:`tables`/:func:`figures` nothing.
The module names the dataset, its assay ``parameters`` (PARAMCD, label, short label, in
display order), the ``positivity_threshold`` (positive when ``AVAL >= threshold``; a
``POSFL`` column, when present, is only checked against it: :func:`posfl_disagreements`), the
``unit`` of ``AVAL``, the ``population`` (analysed by the arm it declares, usually the arm
received) and an optional ``association_endpoint`` (a responder endpoint whose response is
compared between sensitised and non-sensitised patients).

*De novo* sensitisation to a parameter = negative at baseline and positive at a later visit.
Subjects positive at baseline (pre-sensitised) or without a baseline value are not at risk and
leave the denominators. At a given visit the denominator is the subjects at risk with a value
at that visit; "any visit" (``visit=""``) counts subjects at risk with at least one
post-baseline value, positive at any of them. Class ``"ANY"`` = de novo in at least one
parameter, among subjects at risk for at least one with a post-baseline value.

Results-store endpoints (population = the module population's key, e.g. ``"SAF"``):

- ``denovo_<PARAMCD>`` (and ``denovo_ANY``): per visit and ``visit=""`` (any visit), per arm:
  ``n``, ``N``, ``percent`` (0-100, Wilson 95 % limits);
- ``sensitisation``: ``group=<PARAMCD>|ANY``, contrast arm ``"<arm> vs <control>"``:
  ``p_value`` (Fisher exact, two-sided) and ``risk_difference`` (percentage points,
  Newcombe hybrid score limits);
- ``immune_baseline_positive``: ``group=<PARAMCD>``, per arm: ``n``, ``N``, ``percent``;
- ``mfi_<PARAMCD>``: per visit and arm: ``median``, ``q1``, ``q3`` (``n`` = subjects);
- ``immune_threshold``: ``mfi`` (the threshold used) and ``posfl_disagreements``;
- ``response_by_sensitisation`` (analysis ``"exploratory"``, visit = the association
  endpoint's visit, each experimental arm): ``group="Sensitised"|"Not sensitised"``:
  ``n_responders``, ``N``, ``percent`` (Wilson); ``group="Sensitised vs Not sensitised"``:
  ``risk_difference`` (Newcombe), ``p_value`` (Fisher).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.displays.formatting import fmt_ci, fmt_num, fmt_p
from analysis.families.common import dataset, join, module, population, population_key
from analysis.results import result_row
from analysis.stats.binary import fisher_exact, newcombe_rd_ci, wilson_ci

MODULE = "immunogenicity"
ANY = "ANY"
GROUPS = ("Sensitised", "Not sensitised")
CONTRAST = "Sensitised vs Not sensitised"


# ---------------------------------------------------------------- settings
def settings(trial) -> dict | None:
    """The module's settings when it is on, else ``None``."""
    return module(trial, MODULE)


def positivity_threshold(trial) -> float:
    """The positivity threshold declared by the module."""
    return float(settings(trial)["positivity_threshold"])


def pop_key(trial) -> str:
    """Store key of the module's population (e.g. ``"SAF"``)."""
    return population_key((settings(trial) or {}).get("population", "safety"))


def immune_data(trial) -> pd.DataFrame:
    """The module's dataset (declared parameters only), subject column named ``USUBJID``."""
    mod = settings(trial)
    df = dataset(trial, mod["dataset"]).copy()
    subj = trial.spec.data.subject_column
    if subj != "USUBJID":
        df = df.rename(columns={subj: "USUBJID"})
    df["USUBJID"] = df["USUBJID"].astype(str)
    df["AVISITN"] = pd.to_numeric(df["AVISITN"], errors="coerce")
    df["AVAL"] = pd.to_numeric(df["AVAL"], errors="coerce")
    return df.loc[df["PARAMCD"].astype(str).isin(classes(trial))].reset_index(drop=True)


def classes(trial) -> list[str]:
    """Parameters (PARAMCD) in the module's order."""
    return [str(p["paramcd"]) for p in settings(trial)["parameters"]]


def class_labels(trial, short: bool = True) -> dict[str, str]:
    """``{PARAMCD: label}`` (short labels by default), plus ``ANY``."""
    out = {}
    for p in settings(trial)["parameters"]:
        out[str(p["paramcd"])] = (p.get("short_label") if short else None) or p.get("label") \
            or str(p["paramcd"])
    out[ANY] = "Any class"
    return out


def posfl_disagreements(adimm: pd.DataFrame, threshold: float) -> int:
    """Rows where the stored ``POSFL`` disagrees with ``AVAL >= threshold`` (0 if no POSFL)."""
    if "POSFL" not in adimm.columns:
        return 0
    derived = np.where(adimm["AVAL"].astype(float) >= threshold, "Y", "N")
    has_val = adimm["AVAL"].notna().to_numpy()
    return int((adimm["POSFL"].astype(str).to_numpy() != derived)[has_val].sum())


def safety_population(trial) -> pd.DataFrame:
    """``USUBJID, ARM``: the module population's subjects with the arm they are analysed by."""
    return population(trial, settings(trial).get("population", "safety"))


def _baseline_mask(adimm: pd.DataFrame, baseline_visit) -> pd.Series:
    if "ABLFL" in adimm.columns:
        return adimm["ABLFL"].fillna("").astype(str).eq("Y")
    return adimm["AVISITN"].astype(float) == baseline_visit


def immune_status(adimm: pd.DataFrame, threshold: float, baseline_visit=0) -> pd.DataFrame:
    """One row per subject x class with baseline status and de novo positivity by visit.

    Returns
    -------
    DataFrame
        ``USUBJID, PARAMCD, BASEPOS`` (True/False/NaN when no baseline), ``AT_RISK``
        (baseline negative), ``N_POST`` (post-baseline values), ``DENOVO`` (at risk and
        positive at a post-baseline visit; NaN when not evaluable), ``DENOVO_VISIT`` (first
        such visit, AVISITN).
    """
    d = adimm.loc[adimm["AVAL"].notna(), ["USUBJID", "PARAMCD", "AVISITN", "AVAL"]].copy()
    d["AVISITN"] = d["AVISITN"].astype(float)
    d["POS"] = d["AVAL"].astype(float) >= threshold
    base_mask = _baseline_mask(adimm, baseline_visit).loc[d.index]
    base = d.loc[base_mask].groupby(["USUBJID", "PARAMCD"])["POS"].max().rename("BASEPOS")
    post = d.loc[~base_mask & (d["AVISITN"] > baseline_visit)]
    g = post.groupby(["USUBJID", "PARAMCD"])
    npost = g.size().rename("N_POST")
    first = post.loc[post["POS"]].groupby(["USUBJID", "PARAMCD"])["AVISITN"].min()
    out = pd.concat([base, npost, first.rename("DENOVO_VISIT")], axis=1).reset_index()
    out["N_POST"] = out["N_POST"].fillna(0).astype(int)
    out["AT_RISK"] = out["BASEPOS"].eq(False)
    evaluable = out["AT_RISK"] & (out["N_POST"] > 0)
    out["DENOVO"] = np.where(evaluable, out["DENOVO_VISIT"].notna(), np.nan)
    out.loc[~out["AT_RISK"], "DENOVO_VISIT"] = np.nan
    return out.sort_values(["USUBJID", "PARAMCD"]).reset_index(drop=True)


def denovo_by_visit(adimm: pd.DataFrame, threshold: float, baseline_visit=0) -> pd.DataFrame:
    """At-risk subjects' post-baseline values: ``USUBJID, PARAMCD, AVISITN, POS`` (positive)."""
    status = immune_status(adimm, threshold, baseline_visit)
    at_risk = status.loc[status["AT_RISK"], ["USUBJID", "PARAMCD"]]
    d = adimm.loc[adimm["AVAL"].notna() & (adimm["AVISITN"].astype(float) > baseline_visit),
                  ["USUBJID", "PARAMCD", "AVISITN", "AVAL"]].copy()
    if "ABLFL" in adimm.columns:
        d = d.loc[adimm.loc[d.index, "ABLFL"].astype(str) != "Y"]
    d["POS"] = d["AVAL"].astype(float) >= threshold
    d = d.groupby(["USUBJID", "PARAMCD", "AVISITN"], as_index=False)["POS"].max()
    return d.merge(at_risk, on=["USUBJID", "PARAMCD"])


def sensitisation(adimm: pd.DataFrame, threshold: float, baseline_visit=0) -> pd.DataFrame:
    """Per subject: ``USUBJID, SENSITISED`` (de novo in any class; NaN when not evaluable)."""
    status = immune_status(adimm, threshold, baseline_visit)
    ev = status.loc[status["DENOVO"].notna()]
    return (ev.groupby("USUBJID")["DENOVO"].max().astype(bool).rename("SENSITISED")
            .reset_index())


# ---------------------------------------------------------------- statistics
def _prop_rows(endpoint, x, n, *, arm, population, visit=None, group="", analysis="primary",
               count_stat="n"):
    rows = [result_row(endpoint, count_stat, x, arm=arm, visit=visit, group=group, n=n,
                       analysis=analysis, population=population),
            result_row(endpoint, "N", n, arm=arm, visit=visit, group=group, n=n,
                       analysis=analysis, population=population)]
    if n > 0:
        lo, hi = wilson_ci(int(x), int(n))
        rows.append(result_row(endpoint, "percent", 100 * x / n, arm=arm, visit=visit,
                               group=group, lower=100 * lo, upper=100 * hi, n=n,
                               analysis=analysis, population=population))
    return rows


def compute(trial) -> list[dict]:
    """All immunogenicity statistics (see the module docstring); none when the module is off."""
    if settings(trial) is None:
        return []
    threshold = positivity_threshold(trial)
    pop = pop_key(trial)
    base_visit = trial.spec.baseline_visit
    raw = immune_data(trial)
    saf = safety_population(trial)
    adimm = raw.merge(saf, on="USUBJID")
    rows = [result_row("immune_threshold", "mfi", threshold, population=pop),
            result_row("immune_threshold", "posfl_disagreements",
                       posfl_disagreements(raw, threshold), n=len(raw), population=pop)]
    arms = [a for a in trial.arms if a in set(saf["ARM"])]
    exp_arms = [a for a in arms if a != trial.control_arm]
    cls = [c for c in classes(trial) if c in set(raw["PARAMCD"].astype(str))]
    status = immune_status(adimm, threshold, base_visit).merge(saf, on="USUBJID")
    byvisit = denovo_by_visit(adimm, threshold, base_visit).merge(saf, on="USUBJID")
    visits = sorted(byvisit["AVISITN"].unique())

    # baseline positivity
    for c in cls:
        s = status.loc[(status["PARAMCD"] == c) & status["BASEPOS"].notna()]
        for arm in arms:
            sa = s.loc[s["ARM"] == arm]
            rows += _prop_rows("immune_baseline_positive", int(sa["BASEPOS"].astype(bool).sum()),
                               len(sa), arm=arm, group=c, population=pop)

    # de novo by visit and at any visit
    any_subj = _any_class(status)
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    for c in cls + [ANY]:
        for arm in arms:
            for v in visits:
                if c == ANY:
                    bv = byvisit.loc[byvisit["ARM"] == arm]
                    bv = bv.loc[bv["AVISITN"] == v].groupby("USUBJID")["POS"].max()
                else:
                    bv = byvisit.loc[(byvisit["ARM"] == arm) & (byvisit["PARAMCD"] == c)
                                     & (byvisit["AVISITN"] == v), "POS"]
                if len(bv):
                    rows += _prop_rows(f"denovo_{c}", int(bv.sum()), len(bv), arm=arm,
                                       visit=_visit(v), population=pop)
            if c == ANY:
                ev = any_subj.loc[any_subj["ARM"] == arm, "DENOVO"]
            else:
                ev = status.loc[(status["PARAMCD"] == c) & (status["ARM"] == arm)
                                & status["DENOVO"].notna(), "DENOVO"]
            x, n = int(ev.astype(bool).sum()), len(ev)
            counts[(c, arm)] = (x, n)
            rows += _prop_rows(f"denovo_{c}", x, n, arm=arm, population=pop)

    # sensitisation contrasts
    for arm in exp_arms:
        for c in cls + [ANY]:
            x1, n1 = counts.get((c, arm), (0, 0))
            x2, n2 = counts.get((c, trial.control_arm), (0, 0))
            if n1 == 0 or n2 == 0:
                continue
            contrast = f"{arm} vs {trial.control_arm}"
            _, p = fisher_exact(x1, n1, x2, n2)
            rd, lo, hi = newcombe_rd_ci(x1, n1, x2, n2)
            rows += [
                result_row("sensitisation", "p_value", p, arm=contrast, group=c, population=pop,
                           n=n1 + n2),
                result_row("sensitisation", "risk_difference", 100 * rd, arm=contrast, group=c,
                           lower=100 * lo, upper=100 * hi, population=pop, n=n1 + n2),
            ]

    # medians of the assay values
    mfi = adimm.loc[adimm["AVAL"].notna()]
    for (c, arm, v), vals in mfi.groupby(["PARAMCD", "ARM", "AVISITN"])["AVAL"]:
        q1, med, q3 = np.percentile(vals.astype(float), [25, 50, 75])
        for stat, val in (("median", med), ("q1", q1), ("q3", q3)):
            rows.append(result_row(f"mfi_{c}", stat, val, arm=arm, visit=_visit(v),
                                   n=vals.size, population=pop))

    rows += _response_by_sensitisation(trial, saf, adimm, threshold, exp_arms)
    return rows


def _any_class(status: pd.DataFrame) -> pd.DataFrame:
    ev = status.loc[status["DENOVO"].notna()]
    return ev.groupby(["USUBJID", "ARM"], as_index=False)["DENOVO"].max()


def _visit(v) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() else str(v)


def association_endpoint(trial):
    """The module's association endpoint (a responder endpoint with a rule), or ``None``."""
    ep_id = (settings(trial) or {}).get("association_endpoint")
    if not ep_id:
        return None
    try:
        ep = trial.spec.endpoint(ep_id)
    except KeyError:
        return None
    return ep if ep.rule and ep.rule in trial.spec.rules else None


def association_visit(trial) -> int | None:
    ep = association_endpoint(trial)
    if ep is None:
        return None
    return ep.visit if ep.visit is not None else trial.spec.primary_visit


def response(trial) -> pd.DataFrame:
    """``USUBJID, RESPONDER`` (bool) for subjects whose association-endpoint response at its
    visit is evaluable (the endpoint's responder rule, :func:`analysis.spec.rules.evaluate`)."""
    from analysis.spec.rules import evaluate

    spec = trial.spec
    ep = association_endpoint(trial)
    rule = spec.rules[ep.rule]
    frames = {spec.endpoint(e).dataset: dataset(trial, spec.endpoint(e).dataset)
              for e in rule.endpoints}
    resp = evaluate(rule, spec, frames, association_visit(trial))
    resp = resp.rename(columns={spec.data.subject_column: "USUBJID"})
    r = resp.loc[resp["RESPONDER"].notna(), ["USUBJID", "RESPONDER"]].copy()
    r["RESPONDER"] = r["RESPONDER"].astype(float) == 1.0
    return r.reset_index(drop=True)


def _response_by_sensitisation(trial, saf, adimm, threshold, exp_arms) -> list[dict]:
    ep = association_endpoint(trial)
    if ep is None or not len(exp_arms):
        return []
    if any(dataset(trial, trial.spec.endpoint(e).dataset).empty
           for e in trial.spec.rules[ep.rule].endpoints):
        return []
    visit, pop = association_visit(trial), pop_key(trial)
    resp = response(trial)
    sens = sensitisation(adimm, threshold, trial.spec.baseline_visit)
    d = saf.merge(sens, on="USUBJID").merge(resp, on="USUBJID")
    rows = []
    kw = dict(visit=visit, analysis="exploratory", population=pop)
    for arm in exp_arms:
        da = d.loc[d["ARM"] == arm]
        xs = {}
        for label, flag in zip(GROUPS, (True, False), strict=True):
            g = da.loc[da["SENSITISED"] == flag, "RESPONDER"]
            xs[label] = (int(g.sum()), len(g))
            rows += _prop_rows("response_by_sensitisation", int(g.sum()), len(g), arm=arm,
                               group=label, count_stat="n_responders", **kw)
        (x1, n1), (x2, n2) = xs[GROUPS[0]], xs[GROUPS[1]]
        if n1 and n2:
            rd, lo, hi = newcombe_rd_ci(x1, n1, x2, n2)
            _, p = fisher_exact(x1, n1, x2, n2)
            rows += [
                result_row("response_by_sensitisation", "risk_difference", 100 * rd, arm=arm,
                           group=CONTRAST, lower=100 * lo, upper=100 * hi, n=n1 + n2, **kw),
                result_row("response_by_sensitisation", "p_value", p, arm=arm,
                           group=CONTRAST, n=n1 + n2, **kw),
            ]
    return rows


# ---------------------------------------------------------------- tables
def _npct(store, endpoint, arm, population, visit=None, group="", analysis="primary",
          count="n") -> str:
    sel = store.select(endpoint, arm=arm, visit="" if visit is None else visit, group=group,
                       analysis=analysis, population=population)
    stats = dict(zip(sel["statistic"], sel["value"], strict=True))
    if count not in stats or not stats.get("N"):
        return "–"
    return (f"{int(stats[count])}/{int(stats['N'])} "
            f"({fmt_num(100 * stats[count] / stats['N'], 0)}%)")


def _present(trial, store) -> list[str]:
    """Declared parameters with results in the store, plus ``ANY``."""
    have = set(store.table["endpoint"])
    return [c for c in classes(trial) if f"denovo_{c}" in have] + [ANY]


def sensitisation_table(trial, store) -> pd.DataFrame:
    """De novo sensitisation at any visit by parameter and arm, with the risk difference
    (percentage points, Newcombe 95 % CI) and Fisher's exact p (one row per parameter)."""
    labels = class_labels(trial)
    pop = pop_key(trial)
    arms = _arms_in(store, trial)
    several = len(arms) > 2
    rows = []
    for c in _present(trial, store):
        row = {"Antibodies": labels[c]}
        for arm in arms:
            row[f"{arm}, n/N (%)"] = _npct(store, f"denovo_{c}", arm, pop)
        for arm in arms:
            if arm == trial.control_arm:
                continue
            vs = f"{arm} vs {trial.control_arm}"
            rd = store.select("sensitisation", arm=vs, group=c, statistic="risk_difference")
            key = f"RD {vs}, percentage points (95% CI)" if several else \
                "RD, percentage points (95% CI)"
            row[key] = (f"{fmt_num(float(rd['value'].iloc[0]))} "
                        f"({fmt_ci(float(rd['lower'].iloc[0]), float(rd['upper'].iloc[0]))})"
                        if len(rd) else "–")
            sel = store.select("sensitisation", arm=vs, group=c, statistic="p_value")
            key = f"Fisher p, {vs}" if several else "Fisher p"
            row[key] = fmt_p(float(sel["value"].iloc[0])) if len(sel) else "–"
        rows.append(row)
    return pd.DataFrame(rows)


def denovo_visit_table(trial, store) -> pd.DataFrame:
    """De novo positivity at each post-baseline visit: parameter, visit, then n/N (%) per arm."""
    from analysis.families.consort import visit_label

    labels = class_labels(trial)
    pop = pop_key(trial)
    arms = _arms_in(store, trial)
    rows = []
    for c in _present(trial, store):
        sel = store.select(f"denovo_{c}", statistic="N")
        visits = sorted({v for v in sel["visit"] if v != ""}, key=float)
        for v in visits:
            row = {"Antibodies": labels[c], "Visit": visit_label(trial.spec, v)}
            for arm in arms:
                row[f"{arm}, n/N (%)"] = _npct(store, f"denovo_{c}", arm, pop, visit=v)
            rows.append(row)
    return pd.DataFrame(rows)


def response_table(trial, store) -> pd.DataFrame:
    """Exploratory: responders (association endpoint) by sensitisation, per experimental arm."""
    rows = []
    pop = pop_key(trial)
    sel = store.select("response_by_sensitisation", analysis="exploratory")
    visit = _visit(association_visit(trial)) if association_visit(trial) is not None else ""
    for arm in [a for a in trial.arms if a in set(sel["arm"])]:
        for grp in GROUPS:
            s = sel.loc[(sel["arm"] == arm) & (sel["group"] == grp)]
            st = s.set_index("statistic")
            if "N" not in st.index:
                continue
            row = {"Arm": arm, "Sensitisation": grp,
                   "Responders, n/N (%)": _npct(store, "response_by_sensitisation", arm, pop,
                                                visit=visit, group=grp, analysis="exploratory",
                                                count="n_responders")}
            if "percent" in st.index:
                row["95% CI (%)"] = fmt_ci(st.loc["percent", "lower"],
                                           st.loc["percent", "upper"], 0)
            else:
                row["95% CI (%)"] = "–"
            rows.append(row)
    return pd.DataFrame(rows, columns=["Arm", "Sensitisation", "Responders, n/N (%)",
                                       "95% CI (%)"])


def _arms_in(store, trial) -> list[str]:
    present = set(store.select(population=pop_key(trial))["arm"])
    return [a for a in trial.arms if a in present]


def tables(trial, store) -> dict[str, pd.DataFrame]:
    """Tables written by the pipeline to ``_output/tables/`` (none when the module is off)."""
    if settings(trial) is None:
        return {}
    out = {"immune_sensitisation": sensitisation_table(trial, store),
           "immune_denovo_by_visit": denovo_visit_table(trial, store)}
    if association_endpoint(trial) is not None:
        out["immune_response_by_sensitisation"] = response_table(trial, store)
    return out


def figure_settings(trial) -> dict:
    """What the figures need from the specification: parameters, labels, population key,
    threshold, unit and the visits' tick labels and times."""
    spec = trial.spec
    vis = {float(v.avisitn): v for v in spec.visits}
    unit = spec.visits[0].unit if spec.visits else ""
    return {"classes": classes(trial), "labels": class_labels(trial),
            "population": pop_key(trial), "unit": settings(trial).get("unit") or "Value",
            "ticks": {k: f"{(v.unit or 'visit')[:1].upper()}{v.time:g}" for k, v in vis.items()},
            "times": {k: float(v.time) for k, v in vis.items()},
            "time_label": (unit[:-1] if unit.endswith("s") else unit).capitalize() or "Visit"}


def figures(trial, store) -> dict:
    """Figures written by the pipeline to ``_output/figures/`` (none when the module is off)."""
    if settings(trial) is None:
        return {}
    from analysis.displays.immune_plots import denovo_figure, mfi_figure

    opts = figure_settings(trial)
    data = immune_data(trial).merge(safety_population(trial), on="USUBJID")
    return {"immune_denovo": denovo_figure(store, trial.arms, **opts),
            "immune_mfi": mfi_figure(data, store, trial.arms, **opts)}


# ---------------------------------------------------------------- prose
def visit_text(trial) -> str:
    """Post-baseline assay visits (AVISITN) in words, e.g. ``"1, 3 and 6"``."""
    base = trial.spec.baseline_visit
    v = sorted({float(x) for x in immune_data(trial)["AVISITN"].dropna() if float(x) > base})
    return join([_visit(x) for x in v])


def visit_labels_text(trial) -> str:
    """Post-baseline assay visits by their schedule labels, e.g. ``"week 4 and week 8"``."""
    from analysis.families.consort import visit_label

    base = trial.spec.baseline_visit
    v = sorted({float(x) for x in immune_data(trial)["AVISITN"].dropna() if float(x) > base})
    return join([visit_label(trial.spec, x).lower() for x in v])


def parameter_text(trial) -> str:
    """The module's parameters by their full labels, joined (``"A, B and C"``)."""
    labels = class_labels(trial, short=False)
    return join([labels[c] for c in classes(trial)])


def sensitisation_sentence(trial, store, group: str = ANY) -> str:
    """One sentence: de novo sensitisation per arm (n/N, %) and Fisher's p, from the store."""
    arms = _arms_in(store, trial)
    pop = pop_key(trial)
    parts = []
    for arm in arms:
        sel = store.select(f"denovo_{group}", arm=arm, visit="", population=pop)
        st = dict(zip(sel["statistic"], sel["value"], strict=True))
        if not st.get("N"):
            continue
        parts.append(f"{int(st['n'])} of {int(st['N'])} patients ({fmt_num(st['percent'], 0)}%) "
                     f"in the {arm} arm")
    if not parts:
        return "No patient could be assessed for de novo sensitisation."
    text = "De novo antibodies appeared in " + join(parts)
    ps = []
    exp = [a for a in arms if a != trial.control_arm]
    for arm in exp:
        contrast = f"{arm} vs {trial.control_arm}"
        sel = store.select("sensitisation", arm=contrast, group=group, statistic="p_value")
        rd = store.select("sensitisation", arm=contrast, group=group,
                          statistic="risk_difference")
        if not len(sel):
            continue
        who = f"{contrast}: " if len(exp) > 1 else ""
        eff = ""
        if len(rd):
            r = rd.iloc[0]
            eff = (f"difference {fmt_num(r['value'], 0)} percentage points, 95% CI "
                   f"{fmt_num(r['lower'], 0)} to {fmt_num(r['upper'], 0)}; ")
        ps.append(f"{who}{eff}Fisher's exact test, {_p_text(fmt_p(float(sel['value'].iloc[0])))}")
    tail = f" ({'; '.join(ps)})" if ps else ""
    return text + tail + "."


def baseline_positive_sentence(trial, store) -> str:
    """Per parameter: patients positive at baseline per arm (not at risk of de novo
    sensitisation), from the store ("" when none was assessed)."""
    labels = class_labels(trial, short=False)
    pop = pop_key(trial)
    arms = _arms_in(store, trial)
    parts = []
    for c in [c for c in _present(trial, store) if c != ANY]:
        per = []
        for arm in arms:
            sel = store.select("immune_baseline_positive", arm=arm, group=c, population=pop)
            st = dict(zip(sel["statistic"], sel["value"], strict=True))
            if st.get("N"):
                per.append(f"{int(st['n'])} of {int(st['N'])} {arm}")
        if per:
            label = labels[c][:1].lower() + labels[c][1:]
            parts.append(f"{join(per)} patients for {label}")
    if not parts:
        return ""
    return ("At baseline, already positive were " + "; ".join(parts) + ". These patients were "
            "not at risk of de novo sensitisation to that parameter.")


def response_sentence(trial, store) -> str:
    """Exploratory response by sensitisation in each experimental arm, from the store."""
    pop = pop_key(trial)
    sel = store.select("response_by_sensitisation", analysis="exploratory", population=pop)
    ep = association_endpoint(trial)
    what = (ep.label[:1].lower() + ep.label[1:]) if ep is not None else "response"
    out = []
    for arm in [a for a in trial.arms if a in set(sel["arm"])]:
        st = {(g, s): (v, lo, hi) for g, s, v, lo, hi in
              sel.loc[sel["arm"] == arm, ["group", "statistic", "value", "lower", "upper"]]
              .itertuples(index=False)}
        n = {g: int(st.get((g, "N"), (0,))[0]) for g in GROUPS}
        if not n[GROUPS[0]] or not n[GROUPS[1]]:
            out.append(f"Among {arm} patients, {n[GROUPS[0]]} sensitised and "
                       f"{n[GROUPS[1]]} non-sensitised patients had an evaluable {what}, too "
                       "few for a comparison.")
            continue
        rd, lo, hi = st[(CONTRAST, "risk_difference")]
        p = fmt_p(st[(CONTRAST, "p_value")][0])
        out.append(
            f"Among {arm} patients with an evaluable {what} and immune follow-up, "
            f"{int(st[(GROUPS[0], 'n_responders')][0])} of {n[GROUPS[0]]} sensitised "
            f"patients ({fmt_num(st[(GROUPS[0], 'percent')][0], 0)}%) and "
            f"{int(st[(GROUPS[1], 'n_responders')][0])} of {n[GROUPS[1]]} "
            f"non-sensitised patients "
            f"({fmt_num(st[(GROUPS[1], 'percent')][0], 0)}%) responded "
            f"(difference {fmt_num(rd, 0)} percentage points, 95% CI {fmt_num(lo, 0)} to "
            f"{fmt_num(hi, 0)}; Fisher's exact test, {_p_text(p)}).")
    return " ".join(out) if out else "No experimental-arm patient could be assessed."


def _p_text(p: str) -> str:
    """``"p = 0.20"`` or ``"p < 0.001"`` from a formatted p-value."""
    return f"p < {p[1:]}" if p.startswith("<") else f"p = {p}"


def population_text(trial) -> str:
    """``"safety population (by the intervention actually received)"``-style phrase."""
    spec = trial.spec
    pop_id = settings(trial).get("population", "safety")
    pop = spec.populations[pop_id]
    by = ("the intervention actually received" if pop.arm == "actual"
          else "the arm allocated at randomisation")
    return f"{pop.label[:1].lower() + pop.label[1:]}, by {by}"


def last_visit_label(trial) -> str:
    """Label of the last post-baseline assay visit, lower case (``"month 6"``)."""
    from analysis.families.consort import visit_label

    base = trial.spec.baseline_visit
    v = [float(x) for x in immune_data(trial)["AVISITN"].dropna() if float(x) > base]
    return visit_label(trial.spec, max(v)).lower() if v else ""


def threshold_text(trial) -> str:
    """The positivity threshold with its unit (``"1000 MFI"``)."""
    unit = settings(trial).get("unit")
    return f"{positivity_threshold(trial):g}" + (f" {unit}" if unit else "")


def association_text(trial) -> str:
    """The association endpoint's label, first letter lower case ("" when none)."""
    ep = association_endpoint(trial)
    return "" if ep is None else ep.label[:1].lower() + ep.label[1:]
