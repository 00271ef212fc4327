"""Immune response to the allogeneic cells (family module): anti-HLA and donor-specific antibodies.

Positivity is derived from the MFI (``AVAL``) and the threshold documented in the data
dictionary (:func:`positivity_threshold`): positive when ``AVAL >= threshold``; the ``POSFL``
column is only checked against it (:func:`posfl_disagreements`).

*De novo* sensitisation to an antibody class = negative at baseline and positive at a later
visit. Subjects positive at baseline (pre-sensitised) or without a baseline value are not at
risk and leave the denominators. At a given visit the denominator is the subjects at risk with a
value at that visit; "any visit" (``visit=""``) counts subjects at risk with at least one
post-baseline value, positive at any of them. Class ``"ANY"`` = de novo in at least one class,
among subjects at risk for at least one class with a post-baseline value.

Population: safety population (``SAFFL == "Y"``) by actual arm (``TRT01A``): the response is to
cells actually received.

Results-store endpoints (population ``"SAF"``):

- ``denovo_<PARAMCD>`` (and ``denovo_ANY``): per visit and ``visit=""`` (any visit), per arm:
  ``n``, ``N``, ``percent`` (0-100, Wilson 95 % limits);
- ``sensitisation``: ``group=<PARAMCD>|ANY``, contrast arm ``"<arm> vs <control>"``:
  ``p_value`` (Fisher exact, two-sided) and ``risk_difference`` (percentage points,
  Newcombe hybrid score limits);
- ``immune_baseline_positive``: ``group=<PARAMCD>``, per arm: ``n``, ``N``, ``percent``;
- ``mfi_<PARAMCD>``: per visit and arm: ``median``, ``q1``, ``q3`` (``n`` = subjects);
- ``immune_threshold``: ``mfi`` (the threshold used) and ``posfl_disagreements``;
- ``response_by_sensitisation`` (analysis ``"exploratory"``, visit 12, each experimental arm):
  ``group="Sensitised"|"Not sensitised"``: ``n_responders``, ``N``, ``percent`` (Wilson);
  ``group="Sensitised vs Not sensitised"``: ``risk_difference`` (Newcombe), ``p_value`` (Fisher).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.displays.formatting import fmt_ci, fmt_num, fmt_p
from analysis.results import result_row
from analysis.stats.binary import fisher_exact, newcombe_rd_ci, wilson_ci

CLASS_ORDER = ["HLAI", "HLAII", "DSA"]
#: Short display labels of the contract's classes (others use their PARAM).
SHORT_LABELS = {"HLAI": "Anti-HLA class I", "HLAII": "Anti-HLA class II",
                "DSA": "Donor-specific (DSA)"}
ANY = "ANY"
POP = "SAF"
THRESHOLD_KEY = "immune_positivity_threshold"


# ---------------------------------------------------------------- derivations
def positivity_threshold() -> float:
    """The MFI positivity threshold documented in the data dictionary.

    The dictionary key is ``immune_positivity_threshold`` (``analysis/dictionary.yaml``).
    """
    from analysis.data import dictionary

    return float(dictionary()[THRESHOLD_KEY])


def classes(adimm: pd.DataFrame) -> list[str]:
    """Antibody classes (PARAMCD) present: HLAI, HLAII, DSA first, then any others sorted."""
    present = set(adimm["PARAMCD"].astype(str))
    return [c for c in CLASS_ORDER if c in present] + sorted(present - set(CLASS_ORDER))


def class_labels(adimm: pd.DataFrame) -> dict[str, str]:
    """``{PARAMCD: short label}``: :data:`SHORT_LABELS`, else the first PARAM seen; plus ``ANY``."""
    labels = adimm.drop_duplicates("PARAMCD").set_index("PARAMCD")["PARAM"].astype(str)
    out = {c: SHORT_LABELS.get(c) or labels.get(c, c) for c in classes(adimm)}
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
    """``USUBJID, ARM``: SAFFL == "Y" subjects with their actual arm, in trial arms only."""
    adsl = trial.adsl
    saf = adsl.loc[adsl["SAFFL"].astype(str) == "Y", ["USUBJID", "TRT01A"]]
    saf = saf.rename(columns={"TRT01A": "ARM"})
    return saf.loc[saf["ARM"].isin(trial.arms)].reset_index(drop=True)


def immune_status(adimm: pd.DataFrame, threshold: float) -> pd.DataFrame:
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
    base_mask = d["AVISITN"] == 0
    if "ABLFL" in adimm.columns:
        base_mask = adimm.loc[d.index, "ABLFL"].astype(str).eq("Y")
    base = d.loc[base_mask].groupby(["USUBJID", "PARAMCD"])["POS"].max().rename("BASEPOS")
    post = d.loc[~base_mask & (d["AVISITN"] > 0)]
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


def denovo_by_visit(adimm: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """At-risk subjects' post-baseline values: ``USUBJID, PARAMCD, AVISITN, POS`` (positive)."""
    status = immune_status(adimm, threshold)
    at_risk = status.loc[status["AT_RISK"], ["USUBJID", "PARAMCD"]]
    d = adimm.loc[adimm["AVAL"].notna() & (adimm["AVISITN"].astype(float) > 0),
                  ["USUBJID", "PARAMCD", "AVISITN", "AVAL"]].copy()
    if "ABLFL" in adimm.columns:
        d = d.loc[adimm.loc[d.index, "ABLFL"].astype(str) != "Y"]
    d["POS"] = d["AVAL"].astype(float) >= threshold
    d = d.groupby(["USUBJID", "PARAMCD", "AVISITN"], as_index=False)["POS"].max()
    return d.merge(at_risk, on=["USUBJID", "PARAMCD"])


def sensitisation(adimm: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Per subject: ``USUBJID, SENSITISED`` (de novo in any class; NaN when not evaluable)."""
    status = immune_status(adimm, threshold)
    ev = status.loc[status["DENOVO"].notna()]
    return (ev.groupby("USUBJID")["DENOVO"].max().astype(bool).rename("SENSITISED")
            .reset_index())


# ---------------------------------------------------------------- statistics
def _prop_rows(endpoint, x, n, *, arm, visit=None, group="", analysis="primary",
               count_stat="n", population=POP):
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


def _trial_threshold(trial) -> float:
    thr = getattr(trial, "positivity_threshold", None)
    return float(thr) if thr is not None else positivity_threshold()


def compute(trial) -> list[dict]:
    """All immune-response statistics (see the module docstring)."""
    threshold = _trial_threshold(trial)
    saf = safety_population(trial)
    adimm = trial.adimm.merge(saf, on="USUBJID")
    rows = [result_row("immune_threshold", "mfi", threshold, population=POP),
            result_row("immune_threshold", "posfl_disagreements",
                       posfl_disagreements(trial.adimm, threshold), n=len(trial.adimm),
                       population=POP)]
    arms = [a for a in trial.arms if a in set(saf["ARM"])]
    exp_arms = [a for a in arms if a != trial.control_arm]
    cls = classes(trial.adimm)
    status = immune_status(adimm, threshold).merge(saf, on="USUBJID")
    byvisit = denovo_by_visit(adimm, threshold).merge(saf, on="USUBJID")
    visits = sorted(byvisit["AVISITN"].unique())

    # baseline positivity
    for c in cls:
        s = status.loc[(status["PARAMCD"] == c) & status["BASEPOS"].notna()]
        for arm in arms:
            sa = s.loc[s["ARM"] == arm]
            rows += _prop_rows("immune_baseline_positive", int(sa["BASEPOS"].astype(bool).sum()),
                               len(sa), arm=arm, group=c)

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
                                       visit=_visit(v))
            if c == ANY:
                ev = any_subj.loc[any_subj["ARM"] == arm, "DENOVO"]
            else:
                ev = status.loc[(status["PARAMCD"] == c) & (status["ARM"] == arm)
                                & status["DENOVO"].notna(), "DENOVO"]
            x, n = int(ev.astype(bool).sum()), len(ev)
            counts[(c, arm)] = (x, n)
            rows += _prop_rows(f"denovo_{c}", x, n, arm=arm)

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
                result_row("sensitisation", "p_value", p, arm=contrast, group=c, population=POP,
                           n=n1 + n2),
                result_row("sensitisation", "risk_difference", 100 * rd, arm=contrast, group=c,
                           lower=100 * lo, upper=100 * hi, population=POP, n=n1 + n2),
            ]

    # MFI medians
    mfi = adimm.loc[adimm["AVAL"].notna()]
    for (c, arm, v), vals in mfi.groupby(["PARAMCD", "ARM", "AVISITN"])["AVAL"]:
        q1, med, q3 = np.percentile(vals.astype(float), [25, 50, 75])
        for stat, val in (("median", med), ("q1", q1), ("q3", q3)):
            rows.append(result_row(f"mfi_{c}", stat, val, arm=arm, visit=_visit(v),
                                   n=vals.size, population=POP))

    rows += _response_by_sensitisation(trial, saf, adimm, threshold, exp_arms)
    return rows


def _any_class(status: pd.DataFrame) -> pd.DataFrame:
    ev = status.loc[status["DENOVO"].notna()]
    return ev.groupby(["USUBJID", "ARM"], as_index=False)["DENOVO"].max()


def _visit(v) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() else str(v)


def month12_response(trial, visit: int = 12) -> pd.DataFrame:
    """``USUBJID, RESPONDER`` (bool) for subjects evaluable at ``visit``, via derive.py."""
    from analysis.families.derive import derive_responders

    resp = derive_responders(trial.adqs, visit)
    r = resp.loc[resp["RESPONDER"].notna(), ["USUBJID", "RESPONDER"]].copy()
    r["RESPONDER"] = r["RESPONDER"].astype(float) == 1.0
    return r.reset_index(drop=True)


def _response_by_sensitisation(trial, saf, adimm, threshold, exp_arms) -> list[dict]:
    if not len(exp_arms) or getattr(trial, "adqs", None) is None or not len(trial.adqs):
        return []
    resp = month12_response(trial)
    sens = sensitisation(adimm, threshold)
    d = saf.merge(sens, on="USUBJID").merge(resp, on="USUBJID")
    rows = []
    for arm in exp_arms:
        da = d.loc[d["ARM"] == arm]
        xs = {}
        for label, flag in (("Sensitised", True), ("Not sensitised", False)):
            g = da.loc[da["SENSITISED"] == flag, "RESPONDER"]
            xs[label] = (int(g.sum()), len(g))
            rows += _prop_rows("response_by_sensitisation", int(g.sum()), len(g), arm=arm,
                               visit=12, group=label, analysis="exploratory",
                               count_stat="n_responders")
        (x1, n1), (x2, n2) = xs["Sensitised"], xs["Not sensitised"]
        if n1 and n2:
            rd, lo, hi = newcombe_rd_ci(x1, n1, x2, n2)
            _, p = fisher_exact(x1, n1, x2, n2)
            grp = "Sensitised vs Not sensitised"
            rows += [
                result_row("response_by_sensitisation", "risk_difference", 100 * rd, arm=arm,
                           visit=12, group=grp, lower=100 * lo, upper=100 * hi,
                           analysis="exploratory", population=POP, n=n1 + n2),
                result_row("response_by_sensitisation", "p_value", p, arm=arm, visit=12,
                           group=grp, analysis="exploratory", population=POP, n=n1 + n2),
            ]
    return rows


# ---------------------------------------------------------------- tables
def _npct(store, endpoint, arm, visit=None, group="", analysis="primary", count="n") -> str:
    sel = store.select(endpoint, arm=arm, visit="" if visit is None else visit, group=group,
                       analysis=analysis, population=POP)
    stats = dict(zip(sel["statistic"], sel["value"], strict=True))
    if count not in stats or not stats.get("N"):
        return "–"
    return (f"{int(stats[count])}/{int(stats['N'])} "
            f"({fmt_num(100 * stats[count] / stats['N'], 0)}%)")


def sensitisation_table(trial, store) -> pd.DataFrame:
    """De novo sensitisation at any visit by class and arm, with the risk difference
    (percentage points, Newcombe 95 % CI) and Fisher's exact p (one row per class)."""
    labels = class_labels(trial.adimm)
    arms = _arms_in(store, trial)
    several = len(arms) > 2
    rows = []
    for c in classes(trial.adimm) + [ANY]:
        row = {"Antibodies": labels[c]}
        for arm in arms:
            row[f"{arm}, n/N (%)"] = _npct(store, f"denovo_{c}", arm)
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
    """De novo positivity at each post-baseline visit: class, visit, then n/N (%) per arm."""
    labels = class_labels(trial.adimm)
    arms = _arms_in(store, trial)
    rows = []
    for c in classes(trial.adimm) + [ANY]:
        sel = store.select(f"denovo_{c}", statistic="N")
        visits = sorted({v for v in sel["visit"] if v != ""}, key=float)
        for v in visits:
            row = {"Antibodies": labels[c], "Month": v}
            for arm in arms:
                row[f"{arm}, n/N (%)"] = _npct(store, f"denovo_{c}", arm, visit=v)
            rows.append(row)
    return pd.DataFrame(rows)


def response_table(trial, store) -> pd.DataFrame:
    """Exploratory: month-12 responders by sensitisation status, per experimental arm."""
    rows = []
    sel = store.select("response_by_sensitisation", analysis="exploratory")
    for arm in [a for a in trial.arms if a in set(sel["arm"])]:
        for grp in ("Sensitised", "Not sensitised"):
            s = sel.loc[(sel["arm"] == arm) & (sel["group"] == grp)]
            st = s.set_index("statistic")
            if "N" not in st.index:
                continue
            row = {"Arm": arm, "Sensitisation": grp,
                   "Responders, n/N (%)": _npct(store, "response_by_sensitisation", arm,
                                                visit="12", group=grp, analysis="exploratory",
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
    present = set(store.select(population=POP)["arm"])
    return [a for a in trial.arms if a in present]


def tables(trial, store) -> dict[str, pd.DataFrame]:
    """Tables written by the pipeline to ``_output/tables/``."""
    return {"immune_sensitisation": sensitisation_table(trial, store),
            "immune_denovo_by_visit": denovo_visit_table(trial, store),
            "immune_response_by_sensitisation": response_table(trial, store)}


def figures(trial, store) -> dict:
    """Figures written by the pipeline to ``_output/figures/``."""
    from analysis.displays.immune_plots import denovo_figure, mfi_figure

    return {"immune_denovo": denovo_figure(trial, store), "immune_mfi": mfi_figure(trial, store)}


# ---------------------------------------------------------------- prose
def visit_text(trial) -> str:
    """Post-baseline immune visits in words, e.g. ``"1, 3 and 6"`` (months)."""
    v = sorted({float(x) for x in trial.adimm["AVISITN"] if float(x) > 0})
    return _join([_visit(x) for x in v])


def sensitisation_sentence(trial, store, group: str = ANY) -> str:
    """One sentence: de novo sensitisation per arm (n/N, %) and Fisher's p, from the store."""
    arms = _arms_in(store, trial)
    parts = []
    for arm in arms:
        sel = store.select(f"denovo_{group}", arm=arm, visit="", population=POP)
        st = dict(zip(sel["statistic"], sel["value"], strict=True))
        if not st.get("N"):
            continue
        parts.append(f"{int(st['n'])} of {int(st['N'])} patients ({fmt_num(st['percent'], 0)}%) "
                     f"in the {arm} arm")
    if not parts:
        return "No patient could be assessed for de novo sensitisation."
    text = "De novo antibodies appeared in " + _join(parts)
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


def response_sentence(trial, store) -> str:
    """Exploratory month-12 response by sensitisation in each experimental arm, from the store."""
    sel = store.select("response_by_sensitisation", analysis="exploratory", population=POP)
    out = []
    for arm in [a for a in trial.arms if a in set(sel["arm"])]:
        st = {(g, s): (v, lo, hi) for g, s, v, lo, hi in
              sel.loc[sel["arm"] == arm, ["group", "statistic", "value", "lower", "upper"]]
              .itertuples(index=False)}
        n = {g: int(st.get((g, "N"), (0,))[0]) for g in ("Sensitised", "Not sensitised")}
        if not n["Sensitised"] or not n["Not sensitised"]:
            out.append(f"Among {arm} patients, {n['Sensitised']} sensitised and "
                       f"{n['Not sensitised']} non-sensitised patients had an evaluable month-12 "
                       "response, too few for a comparison.")
            continue
        grp = "Sensitised vs Not sensitised"
        rd, lo, hi = st[(grp, "risk_difference")]
        p = fmt_p(st[(grp, "p_value")][0])
        out.append(
            f"Among {arm} patients with an evaluable month-12 response and immune follow-up, "
            f"{int(st[('Sensitised', 'n_responders')][0])} of {n['Sensitised']} sensitised "
            f"patients ({fmt_num(st[('Sensitised', 'percent')][0], 0)}%) and "
            f"{int(st[('Not sensitised', 'n_responders')][0])} of {n['Not sensitised']} "
            f"non-sensitised patients "
            f"({fmt_num(st[('Not sensitised', 'percent')][0], 0)}%) responded "
            f"(difference {fmt_num(rd, 0)} percentage points, 95% CI {fmt_num(lo, 0)} to "
            f"{fmt_num(hi, 0)}; Fisher's exact test, {_p_text(p)}).")
    return " ".join(out) if out else "No experimental-arm patient could be assessed."


def _p_text(p: str) -> str:
    """``"p = 0.20"`` or ``"p < 0.001"`` from a formatted p-value."""
    return f"p < {p[1:]}" if p.startswith("<") else f"p = {p}"


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]
