"""Adverse events (family module), following CONSORT Harms, from the ``adverse_events`` module.

Runs only when the specification declares the module and its dataset is present; otherwise
:func:`compute` returns no rows and :func:`tables` nothing. The module names the dataset, the
``population`` (by the arm it declares, usually the arm received), the serious and
treatment-emergent flags, the relatedness column with the values that mean "related" and
their labels, and optionally the severity column and its severe value, the withdrawal flag and
the outcome column with its fatal value. Events counted: treatment-emergent events (flag
``"Y"``) of the population's subjects.

Results-store rows (population = the module population's key, e.g. ``"SAF"``), per arm:
``n_patients`` (patients with >= 1 event), ``N`` (patients in the arm), ``percent`` (0-100,
Wilson 95 % limits), ``n_events``; per contrast ``"<arm> vs <control>"``: ``risk_difference``
(percentage points, Newcombe hybrid score limits). Endpoints (:func:`categories`): ``ae_any``,
``ae_serious``, ``ae_related`` (any related value), ``ae_related_<value>`` (one per related
value, lower case, when there are several), ``ae_severe``, ``sae_related`` (serious and
related), ``ae_withdrawal``, ``death`` (the last three and ``ae_severe`` when declared). By
term: ``ae_soc`` (``group = AEBODSYS``) and ``ae_pt`` (``group = "SOC|PT"``) with
``n_patients``, ``percent``, ``n_events`` per arm.
"""

from __future__ import annotations

import pandas as pd

from analysis.displays.formatting import fmt_num
from analysis.escape import Markdown
from analysis.families.common import dataset, join, module, population, population_key
from analysis.results import result_row
from analysis.stats.binary import newcombe_rd_ci, wilson_ci

MODULE = "adverse_events"
_IND = "\u00a0\u00a0\u00a0"


# ---------------------------------------------------------------- settings
def settings(trial) -> dict | None:
    """The module's settings when it is on, else ``None``."""
    return module(trial, MODULE)


def pop_key(trial) -> str:
    return population_key((settings(trial) or {}).get("population", "safety"))


def related_values(trial) -> tuple[str, ...]:
    return tuple(str(v).upper() for v in settings(trial)["relatedness"].get("related_values", ()))


def value_label(trial, value: str) -> str:
    """Label of a relatedness value (declared, else the value capitalised)."""
    labels = {str(k).upper(): v for k, v in
              (settings(trial)["relatedness"].get("labels") or {}).items()}
    return labels.get(str(value).upper(), str(value).capitalize())


def related_text(trial) -> str:
    """``"the procedure or the product"``: the related values' labels."""
    return join([f"the {value_label(trial, v)[:1].lower() + value_label(trial, v)[1:]}"
                 for v in related_values(trial)], "or")


def categories(trial) -> dict[str, tuple[str, object]]:
    """endpoint -> (table label, event filter on the event rows), from the module."""
    mod = settings(trial)
    ser = mod.get("serious_flag", "AESER")
    rel_col = mod["relatedness"]["column"]
    rel = related_values(trial)
    out: dict[str, tuple[str, object]] = {
        "ae_any": ("Any AE", lambda d: d.index == d.index),
        "ae_serious": ("Serious AE (SAE)", lambda d: d[ser] == "Y"),
        "ae_related": ("Related AE", lambda d: d[rel_col].isin(rel)),
    }
    if len(rel) > 1:
        for v in rel:
            label = value_label(trial, v)
            out[f"ae_related_{v.lower().replace(' ', '_')}"] = (
                _IND + f"to the {label[:1].lower() + label[1:]}",
                lambda d, v=v: d[rel_col] == v)
    sev = mod.get("severity")
    if sev:
        out["ae_severe"] = ("Severe AE", lambda d: d[sev["column"]] == str(
            sev["severe_value"]).upper())
    out["sae_related"] = ("Related SAE", lambda d: (d[ser] == "Y") & d[rel_col].isin(rel))
    if mod.get("withdrawal_flag"):
        out["ae_withdrawal"] = ("Led to withdrawal", lambda d: d[mod["withdrawal_flag"]] == "Y")
    outc = mod.get("outcome")
    if outc:
        out["death"] = ("Death", lambda d: d[outc["column"]] == str(outc["fatal_value"]).upper())
    return out


# ---------------------------------------------------------------- data
def safety_population(trial) -> pd.DataFrame:
    """``USUBJID, ARM``: the module population's subjects with the arm they are analysed by."""
    return population(trial, settings(trial).get("population", "safety"))


def _text_columns(mod) -> list[str]:
    cols = [mod.get("serious_flag", "AESER"), mod.get("treatment_emergent_flag", "TRTEMFL"),
            mod["relatedness"]["column"]]
    cols += [mod[k]["column"] for k in ("severity", "outcome") if mod.get(k)]
    if mod.get("withdrawal_flag"):
        cols.append(mod["withdrawal_flag"])
    return cols


def safety_events(trial) -> pd.DataFrame:
    """Treatment-emergent events of the population's subjects, with their ``ARM``; the subject
    column is named ``USUBJID`` and flag/code columns are upper-case text."""
    mod = settings(trial)
    ae = dataset(trial, mod["dataset"]).copy()
    subj = trial.spec.data.subject_column
    if subj != "USUBJID":
        ae = ae.rename(columns={subj: "USUBJID"})
    ae["USUBJID"] = ae["USUBJID"].astype(str)
    for col in _text_columns(mod):
        if col in ae.columns:
            ae[col] = ae[col].fillna("").astype(str).str.strip().str.upper()
    te = mod.get("treatment_emergent_flag", "TRTEMFL")
    if te in ae.columns:
        ae = ae.loc[ae[te] == "Y"]
    return ae.merge(safety_population(trial), on="USUBJID").reset_index(drop=True)


def _arms(trial, saf) -> list[str]:
    present = set(saf["ARM"])
    return [a for a in trial.arms if a in present]


# ---------------------------------------------------------------- statistics
def _count_rows(endpoint, events, saf, arms, control, pop, group="",
                contrasts=True) -> list[dict]:
    rows = []
    xs = {}
    for arm in arms:
        n_arm = int((saf["ARM"] == arm).sum())
        ea = events.loc[events["ARM"] == arm]
        x = int(ea["USUBJID"].nunique())
        xs[arm] = (x, n_arm)
        rows += [result_row(endpoint, "n_patients", x, arm=arm, group=group, n=n_arm,
                            population=pop),
                 result_row(endpoint, "N", n_arm, arm=arm, group=group, n=n_arm,
                            population=pop),
                 result_row(endpoint, "n_events", len(ea), arm=arm, group=group, n=n_arm,
                            population=pop)]
        if n_arm:
            lo, hi = wilson_ci(x, n_arm)
            rows.append(result_row(endpoint, "percent", 100 * x / n_arm, arm=arm, group=group,
                                   lower=100 * lo, upper=100 * hi, n=n_arm, population=pop))
    if contrasts and control in xs:
        x2, n2 = xs[control]
        for arm in arms:
            x1, n1 = xs[arm]
            if arm == control or not n1 or not n2:
                continue
            rd, lo, hi = newcombe_rd_ci(x1, n1, x2, n2)
            rows.append(result_row(endpoint, "risk_difference", 100 * rd,
                                   arm=f"{arm} vs {control}", group=group, lower=100 * lo,
                                   upper=100 * hi, n=n1 + n2, population=pop))
    return rows


def compute(trial) -> list[dict]:
    """All adverse-event statistics (see the module docstring); none when the module is off."""
    if settings(trial) is None:
        return []
    pop = pop_key(trial)
    saf = safety_population(trial)
    ae = safety_events(trial)
    arms = _arms(trial, saf)
    control = trial.control_arm
    rows = []
    for endpoint, (_, keep) in categories(trial).items():
        rows += _count_rows(endpoint, ae.loc[keep(ae)], saf, arms, control, pop)
    for soc, g in ae.groupby("AEBODSYS", sort=True):
        rows += _count_rows("ae_soc", g, saf, arms, control, pop, group=str(soc),
                            contrasts=False)
    for (soc, pt), g in ae.groupby(["AEBODSYS", "AEDECOD"], sort=True):
        rows += _count_rows("ae_pt", g, saf, arms, control, pop, group=f"{soc}|{pt}",
                            contrasts=False)
    return rows


# ---------------------------------------------------------------- tables
def _stats(store, endpoint, arm, pop, group="") -> dict[str, float]:
    sel = store.select(endpoint, arm=arm, group=group, population=pop)
    return dict(zip(sel["statistic"], sel["value"], strict=True))


def _cell(store, endpoint, arm, pop, group="") -> str:
    st = _stats(store, endpoint, arm, pop, group)
    if not st.get("N"):
        return "–"
    return f"{int(st['n_patients'])} ({fmt_num(st['percent'], 1)}) [{int(st['n_events'])}]"


def _arm_header(store, arm, pop) -> str:
    n = _stats(store, "ae_any", arm, pop).get("N", 0)
    return f"{arm} (N={int(n)})"


def store_arms(trial, store) -> list[str]:
    """Trial arms that have safety rows in the store, in trial order."""
    present = set(store.select("ae_any", population=pop_key(trial))["arm"])
    return [a for a in trial.arms if a in present]


def summary_table(trial, store) -> pd.DataFrame:
    """CONSORT Harms summary: per category, n (%) [events] per arm and RD (95 % CI) in
    percentage points."""
    arms = store_arms(trial, store)
    pop = pop_key(trial)
    rows = []
    for endpoint, (label, _) in categories(trial).items():
        row = {"Patients with": label}
        for arm in arms:
            row[_arm_header(store, arm, pop)] = _cell(store, endpoint, arm, pop)
        for arm in arms:
            if arm == trial.control_arm:
                continue
            sel = store.select(endpoint, arm=f"{arm} vs {trial.control_arm}",
                               statistic="risk_difference", population=pop)
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
    pop = pop_key(trial)

    def total(endpoint, group):
        sel = store.select(endpoint, group=group, statistic="n_patients", population=pop)
        return float(sel.loc[sel["arm"].isin(arms), "value"].sum())

    socs = sorted(set(store.select("ae_soc", population=pop)["group"]),
                  key=lambda s: (-total("ae_soc", s), s))
    pts = sorted(set(store.select("ae_pt", population=pop)["group"]))
    head = "System organ class / preferred term"
    rows = []
    for soc in socs:
        label = Markdown("**{}**").format(soc) if bold else soc
        row = {head: label}
        row.update({_arm_header(store, a, pop): _cell(store, "ae_soc", a, pop, soc)
                    for a in arms})
        rows.append(row)
        terms = [g for g in pts if _soc_of(g, socs) == soc]  # a term may hold "|" itself
        for g in sorted(terms, key=lambda g: (-total("ae_pt", g), g)):
            row = {head: indent + g[len(soc) + 1:]}
            row.update({_arm_header(store, a, pop): _cell(store, "ae_pt", a, pop, g)
                        for a in arms})
            rows.append(row)
    return pd.DataFrame(rows, columns=[head] + [_arm_header(store, a, pop) for a in arms])


def _soc_of(group: str, socs: list[str]) -> str | None:
    """The SOC of an ``ae_pt`` group ``"SOC|PT"``: the longest SOC it starts with (either
    term may contain ``|``)."""
    found = [s for s in socs if group.startswith(s + "|")]
    return max(found, key=len) if found else None


def sae_listing(trial) -> pd.DataFrame:
    """Serious adverse events: subject, arm, preferred term, onset day, relatedness, outcome.

    The subject is shown by its short ``SUBJID`` (from ADSL) when available, else the subject
    identifier; onset day (``ASTDY``) and outcome columns only when the data have them.
    """
    mod = settings(trial)
    ser, rel_col = mod.get("serious_flag", "AESER"), mod["relatedness"]["column"]
    out_col = (mod.get("outcome") or {}).get("column")
    ae = safety_events(trial)
    ae = ae.loc[ae[ser] == "Y"].copy()
    adsl = trial.adsl.rename(columns={trial.spec.data.subject_column: "USUBJID"})
    if "SUBJID" in adsl.columns and "SUBJID" not in ae.columns:
        ae = ae.merge(adsl[["USUBJID", "SUBJID"]].astype(str), on="USUBJID", how="left")
    short = ae["SUBJID"] if "SUBJID" in ae.columns else ae["USUBJID"]
    ae["_subject"] = short.where(short.astype(str).str.len() > 0, ae["USUBJID"]).astype(str)
    order = {a: i for i, a in enumerate(trial.arms)}
    ae["_arm"] = ae["ARM"].map(order)
    keys = ["_arm", "USUBJID"] + [c for c in ("ASTDY", "AESEQ") if c in ae.columns]
    ae = ae.sort_values(keys, kind="mergesort")
    out = {"Subject": ae["_subject"], "Arm": ae["ARM"],
           "Preferred term": ae["AEDECOD"].astype(str)}
    if "ASTDY" in ae.columns:
        out["Onset day"] = ae["ASTDY"].map(lambda v: "" if pd.isna(v) else str(int(v)))
    out["Relatedness"] = ae[rel_col].map(lambda v: value_label(trial, v))
    if out_col and out_col in ae.columns:
        out["Outcome"] = ae[out_col].map(lambda v: str(v).capitalize())
    return pd.DataFrame(out).reset_index(drop=True)


def tables(trial, store) -> dict[str, pd.DataFrame]:
    """Tables written by the pipeline to ``_output/tables/`` (plain text: no bold); none when
    the module is off."""
    if settings(trial) is None:
        return {}
    pt = pt_table(trial, store, indent="  ", bold=False)
    return {"ae_summary": summary_table(trial, store), "ae_by_term": pt,
            "sae_listing": sae_listing(trial)}


# ---------------------------------------------------------------- prose
def related_sae_sentence(trial, store) -> str:
    """The related-SAE sentence, computed from the store (no number typed by hand).

    E.g. "No serious adverse event was related to the procedure or the product." or
    "2 serious adverse events (in 2 patients) were related to the procedure or the product:
    1 to the procedure and 1 to the product; A 2, B 0." (the related values' labels).
    """
    arms = store_arms(trial, store)
    pop = pop_key(trial)
    what = related_text(trial)
    ev = {a: int(_stats(store, "sae_related", a, pop).get("n_events", 0)) for a in arms}
    pts = int(sum(_stats(store, "sae_related", a, pop).get("n_patients", 0) for a in arms))
    total = sum(ev.values())
    if total == 0:
        return f"No serious adverse event was related to {what}."
    mod = settings(trial)
    ser, rel_col = mod.get("serious_flag", "AESER"), mod["relatedness"]["column"]
    ae = safety_events(trial)
    sae = ae.loc[(ae[ser] == "Y") & ae[rel_col].isin(related_values(trial))
                 & ae["ARM"].isin(arms)]
    noun = _plural(total, "serious adverse event", "serious adverse events")
    verb = _plural(total, "was", "were")
    who = f"{pts} {_plural(pts, 'patient', 'patients')}"
    split = []
    if len(related_values(trial)) > 1:
        for v in related_values(trial):
            n = int((sae[rel_col] == v).sum())
            if n:
                label = value_label(trial, v)
                split.append(f"{n} to the {label[:1].lower() + label[1:]}")
    by_arm = ", ".join(f"{a} {ev[a]}" for a in arms)
    detail = f"{' and '.join(split)}; " if split else ""
    return f"{total} {noun} (in {who}) {verb} related to {what}: {detail}{by_arm}."


def summary_sentence(trial, store) -> str:
    """Patients with any AE and with a serious AE per arm, and deaths, from the store."""
    arms = store_arms(trial, store)
    pop = pop_key(trial)
    parts = []
    for endpoint, what in (("ae_any", "at least one adverse event"),
                           ("ae_serious", "a serious adverse event")):
        per = []
        for a in arms:
            st = _stats(store, endpoint, a, pop)
            per.append(f"{int(st['n_patients'])} of {int(st['N'])} ({fmt_num(st['percent'], 0)}%) "
                       f"in the {a} arm")
        parts.append(f"{join(per)} had {what}")
    tail = ""
    if "death" in categories(trial):
        deaths = {a: int(_stats(store, "death", a, pop).get("n_patients", 0)) for a in arms}
        if sum(deaths.values()) == 0:
            tail = " No patient died."
        else:
            tail = " Deaths: " + join([f"{deaths[a]} in the {a} arm" for a in arms]) + "."
    from analysis.families.common import population_word

    who = population_word((settings(trial) or {}).get("population", "safety"))
    return f"In the {who} population, " + "; ".join(parts) + "." + tail


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def population_sentence(trial, store) -> str:
    """Who the safety analysis covers: the population's size per arm and how it is analysed."""
    from analysis.families.common import population_word

    mod = settings(trial)
    pop_id = mod.get("population", "safety")
    pop, key = trial.spec.populations[pop_id], pop_key(trial)
    arms = store_arms(trial, store)
    sizes = join([f"{int(_stats(store, 'ae_any', a, key).get('N', 0))} {a}" for a in arms])
    by = ("the intervention actually received" if pop.arm == "actual"
          else "the arm allocated at randomisation")
    return (f"The {population_word(pop_id)} analysis comprised the {sizes} patients of the "
            f"{pop.label[:1].lower() + pop.label[1:]}, analysed by {by}; all "
            "treatment-emergent adverse events are counted.")


def difference_sentence(trial, store) -> str:
    """Risk differences (percentage points, 95 % CI) of any AE and of a serious AE, per
    experimental arm against the control, from the store."""
    from analysis.displays.formatting import fmt_ci

    arms = store_arms(trial, store)
    pop = pop_key(trial)
    exp = [a for a in arms if a != trial.control_arm]
    parts = []
    for endpoint, what in (("ae_any", "at least one adverse event"),
                           ("ae_serious", "a serious adverse event")):
        per = []
        for a in exp:
            sel = store.select(endpoint, arm=f"{a} vs {trial.control_arm}",
                               statistic="risk_difference", population=pop)
            if not len(sel):
                continue
            r = sel.iloc[0]
            who = f" ({a} vs {trial.control_arm})" if len(exp) > 1 else ""
            per.append(f"{fmt_num(r['value'])} percentage points{who} (95% CI "
                       f"{fmt_ci(r['lower'], r['upper'])})")
        if per:
            parts.append(f"with {what} was {join(per)}")
    if not parts:
        return ""
    return ("The difference in the proportion of patients " + " and ".join(parts) + ".")


def related_sentence(trial, store) -> str:
    """Patients with an adverse event related to the intervention, per arm, from the store."""
    arms = store_arms(trial, store)
    pop = pop_key(trial)
    per = join([f"{int(_stats(store, 'ae_related', a, pop).get('n_patients', 0))} {a}"
                for a in arms])
    return f"Adverse events related to {related_text(trial)} occurred in {per} patients."


def methods_categories_text(trial) -> str:
    """The event categories tabulated (for the methods), following the module."""
    labels = {"ae_serious": "serious adverse event",
              "ae_related": f"event related to {related_text(trial)} (as judged by the "
                            "investigator)",
              "ae_severe": "severe event", "ae_withdrawal": "event leading to withdrawal",
              "death": "death"}
    cats = ["adverse event"] + [labels[c] for c in categories(trial) if c in labels]
    return join(cats)
