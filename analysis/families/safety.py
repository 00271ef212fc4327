"""Adverse events (family module), following CONSORT Harms.

Population: safety population (``SAFFL == "Y"``) by actual arm (``TRT01A``). Events counted:
treatment-emergent (``TRTEMFL == "Y"``) events of safety-population subjects.

Results-store rows (population ``"SAF"``), per arm: ``n_patients`` (patients with >= 1 event),
``N`` (patients in the arm), ``percent`` (0-100, Wilson 95 % limits), ``n_events``; per contrast
``"<arm> vs <control>"``: ``risk_difference`` (percentage points, Newcombe hybrid score limits).
Endpoints (:data:`CATEGORIES`): ``ae_any``, ``ae_serious``, ``ae_related`` (procedure or product),
``ae_related_procedure``, ``ae_related_product``, ``ae_severe``, ``sae_related`` (serious and
related), ``ae_withdrawal``, ``death``. By term: ``ae_soc`` (``group = SOC``) and ``ae_pt``
(``group = "SOC|PT"``) with ``n_patients``, ``percent``, ``n_events`` per arm.
"""

from __future__ import annotations

import pandas as pd

from analysis.displays.formatting import fmt_num
from analysis.escape import Markdown
from analysis.results import result_row
from analysis.stats.binary import newcombe_rd_ci, wilson_ci

POP = "SAF"
RELATED = ("PROCEDURE", "PRODUCT")

_IND = "\u00a0\u00a0\u00a0"
#: endpoint -> (table label, event filter on the AE rows); "related" = to procedure or product
CATEGORIES: dict[str, tuple[str, object]] = {
    "ae_any": ("Any AE", lambda d: d.index == d.index),
    "ae_serious": ("Serious AE (SAE)", lambda d: d["AESER"] == "Y"),
    "ae_related": ("Related AE", lambda d: d["AEREL"].isin(RELATED)),
    "ae_related_procedure": (_IND + "to the procedure", lambda d: d["AEREL"] == "PROCEDURE"),
    "ae_related_product": (_IND + "to the product", lambda d: d["AEREL"] == "PRODUCT"),
    "ae_severe": ("Severe AE", lambda d: d["AESEV"] == "SEVERE"),
    "sae_related": ("Related SAE", lambda d: (d["AESER"] == "Y") & d["AEREL"].isin(RELATED)),
    "ae_withdrawal": ("Led to withdrawal", lambda d: d["AEWDFL"] == "Y"),
    "death": ("Death", lambda d: d["AEOUT"] == "FATAL"),
}
#: Relatedness and outcome wording in tables.
REL_LABEL = {"NOT RELATED": "Not related", "PROCEDURE": "Procedure", "PRODUCT": "Product"}
OUT_LABEL = {"RECOVERED": "Recovered", "RECOVERING": "Recovering",
             "NOT RECOVERED": "Not recovered", "FATAL": "Fatal"}


# ---------------------------------------------------------------- data
def safety_population(trial) -> pd.DataFrame:
    """``USUBJID, ARM``: SAFFL == "Y" subjects with their actual arm (trial arms only)."""
    adsl = trial.adsl
    saf = adsl.loc[adsl["SAFFL"].astype(str) == "Y", ["USUBJID", "TRT01A"]]
    saf = saf.rename(columns={"TRT01A": "ARM"})
    return saf.loc[saf["ARM"].isin(trial.arms)].reset_index(drop=True)


def safety_events(trial) -> pd.DataFrame:
    """Treatment-emergent AEs of safety-population subjects, with their ``ARM``."""
    ae = trial.adae.copy()
    for col in ("AESER", "AEREL", "AESEV", "AEOUT", "AEWDFL", "TRTEMFL"):
        if col in ae.columns:
            ae[col] = ae[col].fillna("").astype(str).str.strip().str.upper()
    if "TRTEMFL" in ae.columns:
        ae = ae.loc[ae["TRTEMFL"] == "Y"]
    return ae.merge(safety_population(trial), on="USUBJID").reset_index(drop=True)


def _arms(trial, saf) -> list[str]:
    present = set(saf["ARM"])
    return [a for a in trial.arms if a in present]


# ---------------------------------------------------------------- statistics
def _count_rows(endpoint, events, saf, arms, control, group="", contrasts=True) -> list[dict]:
    rows = []
    xs = {}
    for arm in arms:
        n_arm = int((saf["ARM"] == arm).sum())
        ea = events.loc[events["ARM"] == arm]
        x = int(ea["USUBJID"].nunique())
        xs[arm] = (x, n_arm)
        rows += [result_row(endpoint, "n_patients", x, arm=arm, group=group, n=n_arm,
                            population=POP),
                 result_row(endpoint, "N", n_arm, arm=arm, group=group, n=n_arm,
                            population=POP),
                 result_row(endpoint, "n_events", len(ea), arm=arm, group=group, n=n_arm,
                            population=POP)]
        if n_arm:
            lo, hi = wilson_ci(x, n_arm)
            rows.append(result_row(endpoint, "percent", 100 * x / n_arm, arm=arm, group=group,
                                   lower=100 * lo, upper=100 * hi, n=n_arm, population=POP))
    if contrasts and control in xs:
        x2, n2 = xs[control]
        for arm in arms:
            x1, n1 = xs[arm]
            if arm == control or not n1 or not n2:
                continue
            rd, lo, hi = newcombe_rd_ci(x1, n1, x2, n2)
            rows.append(result_row(endpoint, "risk_difference", 100 * rd,
                                   arm=f"{arm} vs {control}", group=group, lower=100 * lo,
                                   upper=100 * hi, n=n1 + n2, population=POP))
    return rows


def compute(trial) -> list[dict]:
    """All adverse-event statistics (see the module docstring)."""
    saf = safety_population(trial)
    ae = safety_events(trial)
    arms = _arms(trial, saf)
    control = trial.control_arm
    rows = []
    for endpoint, (_, keep) in CATEGORIES.items():
        rows += _count_rows(endpoint, ae.loc[keep(ae)], saf, arms, control)
    for soc, g in ae.groupby("AEBODSYS", sort=True):
        rows += _count_rows("ae_soc", g, saf, arms, control, group=str(soc), contrasts=False)
    for (soc, pt), g in ae.groupby(["AEBODSYS", "AEDECOD"], sort=True):
        rows += _count_rows("ae_pt", g, saf, arms, control, group=f"{soc}|{pt}",
                            contrasts=False)
    return rows


# ---------------------------------------------------------------- tables
def _stats(store, endpoint, arm, group="") -> dict[str, float]:
    sel = store.select(endpoint, arm=arm, group=group, population=POP)
    return dict(zip(sel["statistic"], sel["value"], strict=True))


def _cell(store, endpoint, arm, group="") -> str:
    st = _stats(store, endpoint, arm, group)
    if not st.get("N"):
        return "–"
    return f"{int(st['n_patients'])} ({fmt_num(st['percent'], 1)}) [{int(st['n_events'])}]"


def _arm_header(store, arm) -> str:
    n = _stats(store, "ae_any", arm).get("N", 0)
    return f"{arm} (N={int(n)})"


def store_arms(trial, store) -> list[str]:
    """Trial arms that have safety rows in the store, in trial order."""
    present = set(store.select("ae_any", population=POP)["arm"])
    return [a for a in trial.arms if a in present]


def summary_table(trial, store) -> pd.DataFrame:
    """CONSORT Harms summary: per category, n (%) [events] per arm and RD (95 % CI) in
    percentage points."""
    arms = store_arms(trial, store)
    rows = []
    for endpoint, (label, _) in CATEGORIES.items():
        row = {"Patients with": label}
        for arm in arms:
            row[_arm_header(store, arm)] = _cell(store, endpoint, arm)
        for arm in arms:
            if arm == trial.control_arm:
                continue
            sel = store.select(endpoint, arm=f"{arm} vs {trial.control_arm}",
                               statistic="risk_difference", population=POP)
            key = ("RD, percentage points (95% CI)" if len(arms) == 2
                   else f"RD {arm}, percentage points (95% CI)")
            row[key] = (f"{fmt_num(sel['value'].iloc[0])} ({fmt_num(sel['lower'].iloc[0])} to "
                        f"{fmt_num(sel['upper'].iloc[0])})") if len(sel) else "–"
        rows.append(row)
    return pd.DataFrame(rows)


def pt_table(trial, store, indent: str = "\u00a0\u00a0\u00a0", bold: bool = True) -> pd.DataFrame:
    """AEs by system organ class and preferred term, sorted by frequency (patients, all arms).

    SOC rows are bold (authored :class:`~analysis.escape.Markdown` around the escaped term,
    or plain text with ``bold=False``); terms indented beneath. Cells: n (%) [events].
    """
    arms = store_arms(trial, store)

    def total(endpoint, group):
        sel = store.select(endpoint, group=group, statistic="n_patients", population=POP)
        return float(sel.loc[sel["arm"].isin(arms), "value"].sum())

    socs = sorted(set(store.select("ae_soc", population=POP)["group"]),
                  key=lambda s: (-total("ae_soc", s), s))
    pts = sorted(set(store.select("ae_pt", population=POP)["group"]))
    rows = []
    for soc in socs:
        label = Markdown("**{}**").format(soc) if bold else soc
        row = {"System organ class / preferred term": label}
        row.update({_arm_header(store, a): _cell(store, "ae_soc", a, soc) for a in arms})
        rows.append(row)
        terms = [g for g in pts if _soc_of(g, socs) == soc]  # a term may hold "|" itself
        for g in sorted(terms, key=lambda g: (-total("ae_pt", g), g)):
            row = {"System organ class / preferred term": indent + g[len(soc) + 1:]}
            row.update({_arm_header(store, a): _cell(store, "ae_pt", a, g) for a in arms})
            rows.append(row)
    return pd.DataFrame(rows, columns=["System organ class / preferred term"]
                        + [_arm_header(store, a) for a in arms])


def _soc_of(group: str, socs: list[str]) -> str | None:
    """The SOC of an ``ae_pt`` group ``"SOC|PT"``: the longest SOC it starts with (either
    term may contain ``|``)."""
    found = [s for s in socs if group.startswith(s + "|")]
    return max(found, key=len) if found else None


def sae_listing(trial) -> pd.DataFrame:
    """Serious adverse events: subject, arm, preferred term, onset day, relatedness, outcome.

    The subject is shown by its short ``SUBJID`` (from adsl) when available, else ``USUBJID``.
    """
    ae = safety_events(trial)
    ae = ae.loc[ae["AESER"] == "Y"].copy()
    if "SUBJID" in trial.adsl.columns and "SUBJID" not in ae.columns:
        ae = ae.merge(trial.adsl[["USUBJID", "SUBJID"]], on="USUBJID", how="left")
    short = ae["SUBJID"] if "SUBJID" in ae.columns else ae["USUBJID"]
    ae["_subject"] = short.where(short.astype(str).str.len() > 0, ae["USUBJID"]).astype(str)
    order = {a: i for i, a in enumerate(trial.arms)}
    ae["_arm"] = ae["ARM"].map(order)
    ae = ae.sort_values(["_arm", "USUBJID", "ASTDY", "AESEQ"], kind="mergesort")
    out = pd.DataFrame({
        "Subject": ae["_subject"],
        "Arm": ae["ARM"],
        "Preferred term": ae["AEDECOD"].astype(str),
        "Onset day": ae["ASTDY"].map(lambda v: "" if pd.isna(v) else str(int(v))),
        "Relatedness": ae["AEREL"].map(lambda v: REL_LABEL.get(v, str(v).capitalize())),
        "Outcome": ae["AEOUT"].map(lambda v: OUT_LABEL.get(v, str(v).capitalize())),
    })
    return out.reset_index(drop=True)


def tables(trial, store) -> dict[str, pd.DataFrame]:
    """Tables written by the pipeline to ``_output/tables/`` (plain text: no bold)."""
    pt = pt_table(trial, store, indent="  ", bold=False)
    return {"ae_summary": summary_table(trial, store), "ae_by_term": pt,
            "sae_listing": sae_listing(trial)}


# ---------------------------------------------------------------- prose
def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def related_sae_sentence(trial, store) -> str:
    """The related-SAE sentence, computed from the store (no number typed by hand).

    E.g. "No serious adverse event was related to the procedure or the product." or
    "2 serious adverse events (in 2 patients) were related to the procedure or the product:
    1 to the procedure and 1 to the product; BM-MSC 2, Sham 0."
    """
    arms = store_arms(trial, store)
    ev = {a: int(_stats(store, "sae_related", a).get("n_events", 0)) for a in arms}
    pts = int(sum(_stats(store, "sae_related", a).get("n_patients", 0) for a in arms))
    total = sum(ev.values())
    if total == 0:
        return "No serious adverse event was related to the procedure or the product."
    ae = safety_events(trial)
    sae = ae.loc[(ae["AESER"] == "Y") & ae["AEREL"].isin(RELATED) & ae["ARM"].isin(arms)]
    n_proc = int((sae["AEREL"] == "PROCEDURE").sum())
    n_prod = int((sae["AEREL"] == "PRODUCT").sum())
    noun = _plural(total, "serious adverse event", "serious adverse events")
    verb = _plural(total, "was", "were")
    who = f"{pts} {_plural(pts, 'patient', 'patients')}"
    split = []
    if n_proc:
        split.append(f"{n_proc} to the procedure")
    if n_prod:
        split.append(f"{n_prod} to the product")
    by_arm = ", ".join(f"{a} {ev[a]}" for a in arms)
    return (f"{total} {noun} (in {who}) {verb} related to the procedure or the product: "
            f"{' and '.join(split)}; {by_arm}.")


def summary_sentence(trial, store) -> str:
    """Patients with any AE and with a serious AE per arm, and deaths, from the store."""
    arms = store_arms(trial, store)
    parts = []
    for endpoint, what in (("ae_any", "at least one adverse event"),
                           ("ae_serious", "a serious adverse event")):
        per = []
        for a in arms:
            st = _stats(store, endpoint, a)
            per.append(f"{int(st['n_patients'])} of {int(st['N'])} ({fmt_num(st['percent'], 0)}%) "
                       f"in the {a} arm")
        parts.append(f"{_join(per)} had {what}")
    deaths = {a: int(_stats(store, "death", a).get("n_patients", 0)) for a in arms}
    if sum(deaths.values()) == 0:
        tail = " No patient died."
    else:
        tail = " Deaths: " + _join([f"{deaths[a]} in the {a} arm" for a in arms]) + "."
    return "In the safety population, " + "; ".join(parts) + "." + tail


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
