"""The original-article draft: every section's text built from the specification, the trial's
text files and the results store (no trial is known here).

``article.qmd`` calls one function per section; each returns :class:`analysis.escape.Markdown`.
Numbers come from the store only (:func:`_row`); trial prose comes from the trial's text files
(:func:`text`); an item that neither supplies is a visible ``[to be supplied: ...]``
placeholder (:func:`todo`), which the build lists. :func:`counts` counts the words of the
abstract and of the main text (Introduction to Conclusion) from the same functions, for the
title page; the build counts them again on the rendered DOCX.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path

import pandas as pd

from analysis.displays.formatting import fmt_ci, fmt_int, fmt_num, fmt_p, fmt_pct
from analysis.escape import Markdown, escape_markdown

#: Declarations of the article, in print order: (key, heading).
DECLARATIONS = (("funding", "Funding"), ("competing_interests", "Competing interests"),
                ("ethics", "Ethics approval and consent to participate"),
                ("patient_public_involvement", "Patient and public involvement"),
                ("data_sharing", "Data availability statement"),
                ("protocol", "Protocol"), ("sap", "Statistical analysis plan"))
#: What a placeholder names for each declaration (also the build's list).
PLACEHOLDER = {"funding": "funding", "competing_interests": "competing interests",
               "ethics": "ethics approval and consent",
               "patient_public_involvement": "patient and public involvement",
               "data_sharing": "data sharing", "protocol": "protocol availability",
               "sap": "statistical analysis plan availability"}
LIMITS = {"abstract": 250, "main": 3500, "displays": 6}
ROLE_WORDS = {"primary": "primary", "key_secondary": "key secondary", "secondary": "secondary",
              "exploratory": "exploratory"}


# ------------------------------------------------------------------ inputs


@lru_cache(maxsize=1)
def report():
    from analysis.report import load_report

    return load_report()


def spec():
    rep = report()
    return getattr(rep, "spec", None) or rep.trial.spec


def arms() -> tuple[str, ...]:
    return tuple(report().trial.arms)


def control() -> str:
    return report().trial.control_arm


def experimental() -> tuple[str, ...]:
    return tuple(a for a in arms() if a != control())


def contrast(arm: str) -> str:
    return f"{arm} vs {control()}"


def todo(what: str) -> Markdown:
    """A visible placeholder for an item the specification and text files do not supply."""
    return Markdown(f"**\\[to be supplied: {what}\\]**")


def text(key: str) -> Markdown | None:
    """The trial's text file ``key`` as Markdown, or None when the trial has none.

    Uses :func:`analysis.report.trial_text` when the project has it; else reads
    ``spec.text[key]``. Cross-references into the full report (``@sec-...``) become "full
    statistical report"; the report's checklist attributes are left out."""
    body = None
    try:
        from analysis.report import trial_text
    except ImportError:
        trial_text = None
    if trial_text is not None:
        try:
            body = trial_text(key, optional=True, spec=spec())
        except (KeyError, FileNotFoundError, ValueError):
            body = None
    else:
        path = (getattr(spec(), "text", {}) or {}).get(key)
        if path and Path(path).is_file():
            body = Path(path).read_text(encoding="utf-8")
    if body is None or not str(body).strip():
        return None
    out = re.sub(r"\s*\(@sec-[\w-]+\)", " (full statistical report)", str(body))
    out = re.sub(r"@sec-[\w-]+", "the full statistical report", out)
    out = re.sub(r"\s*\{consort=\"[^\"]*\"\}", "", out)
    return Markdown(out.strip())


def _store():
    return report().store


def _rows(endpoint: str, statistic: str, **where) -> pd.DataFrame:
    return _store().select(endpoint, statistic=statistic, **where)


def _row(endpoint: str, statistic: str, **where):
    """The one matching row, or None (also when several match)."""
    rows = _rows(endpoint, statistic, **where)
    return rows.iloc[0] if len(rows) == 1 else None


def _val(endpoint: str, statistic: str, **where) -> float | None:
    r = _row(endpoint, statistic, **where)
    if r is None or r["value"] is None or (isinstance(r["value"], float)
                                           and math.isnan(r["value"])):
        return None
    return float(r["value"])


def _has(endpoint: str, **where) -> bool:
    return len(_store().select(endpoint, **where)) > 0


def _est(r, digits: int = 1, unit: str = "") -> str:
    """``'4.6 percentage points (95% CI −12.9 to 21.8)'`` of a row with limits."""
    return (f"{fmt_num(r['value'], digits)}{unit} "
            f"(95% CI {fmt_ci(r['lower'], r['upper'], digits)})")


def _p(endpoint: str, **where) -> str:
    v = _val(endpoint, "p_value", **where)
    if v is None:
        return ""
    p = fmt_p(v)
    return f"p {p}" if p.startswith("<") else f"p = {p}"


def _visit_label(avisitn) -> str:
    try:
        return spec().visit(int(float(avisitn))).label
    except (StopIteration, ValueError, TypeError):
        return f"visit {avisitn}"


def _lc(label: str) -> str:
    """A label inside a sentence ("Month 8" -> "month 8"; an acronym stays)."""
    return label[:1].lower() + label[1:] if label[1:2].islower() or label[1:2] == " " else label


def _name(ep) -> str:
    return ep.name or ep.label


def _unit(ep) -> str:
    if not ep.unit:
        return ""
    return " percentage points" if ep.unit == "%" else f" {ep.unit}"


def _and(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _arm_name(label: str) -> str:
    """The arm's declared name (its label in blinded mode: names would unmask the arms)."""
    from analysis.blinding import is_blinded

    if is_blinded():
        return label
    for a in spec().arms:
        if a.label == label and a.name:
            return a.name
    return label


def primary_endpoints():
    s = spec()
    ids = tuple(s.decision.endpoints) if s.decision else ()
    eps = [s.endpoint(i) for i in ids] or list(s.endpoints_by(role="primary"))
    return eps


def secondary_endpoints():
    """Other endpoints reported at the primary visit; a responder endpoint by visit with the
    rule of a primary one is left to the supplement (same number at the primary visit)."""
    first = {e.id for e in primary_endpoints()}
    rules = {e.rule for e in primary_endpoints() if e.kind == "binary_responder"}
    return [e for e in spec().endpoints if e.id not in first
            and e.role in ("primary", "key_secondary", "secondary")
            and not (e.kind == "binary_responder" and e.rule in rules)]


def primary_visit() -> int:
    return spec().primary_visit


def _visit_of(ep) -> int:
    return ep.visit if ep.visit is not None else primary_visit()


# ------------------------------------------------------------------ one endpoint's result


def effect(ep, arm: str):
    """``(measure, unit, row, where)`` of an endpoint's primary effect for ``arm`` vs control,
    or ``("effect", "", None, {})`` when the store has none."""
    v = _visit_of(ep)
    vs = contrast(arm)
    if ep.kind == "binary_responder":
        for analysis in ("primary", "observed"):
            where = dict(analysis=analysis, visit=v, arm=vs)
            r = _row(ep.id, "risk_difference", **where)
            if r is not None:
                return "risk difference", " percentage points", r, where
    elif ep.kind == "single_visit_continuous":
        where = dict(analysis="primary", visit=v, arm=vs)
        r = _row(ep.id, "mean_difference", **where)
        if r is not None:
            return "adjusted mean difference", _unit(ep), r, where
    elif ep.kind == "repeated_continuous":
        where = dict(analysis="mmrm", visit=v, arm=vs)
        r = _row(ep.id, "difference", **where)
        if r is not None:
            return "difference in mean change", _unit(ep), r, where
    elif ep.kind == "time_to_event":
        where = dict(analysis="cox", arm=vs)
        r = _row(ep.id, "hazard_ratio", **where)
        if r is not None:
            return "hazard ratio", "", r, where
    return "effect", "", None, {}


def arm_summary(ep, arm: str, ci: bool = False, unit: bool = True) -> str:
    """One arm's result: ``n/N (%)`` or a (least-squares) mean (with its 95% CI when ``ci``;
    with its unit when ``unit``, as in a sentence)."""
    v = _visit_of(ep)
    if ep.kind == "binary_responder":
        for analysis in ("primary", "observed"):
            n = _val(ep.id, "n_responders", analysis=analysis, visit=v, arm=arm)
            total = _val(ep.id, "N", analysis=analysis, visit=v, arm=arm)
            pct = _val(ep.id, "percent", analysis=analysis, visit=v, arm=arm)
            if n is not None and total:
                return f"{fmt_int(n)}/{fmt_int(total)} ({fmt_pct(pct)})"
    elif ep.kind == "single_visit_continuous":
        r = _row(ep.id, "adjusted_mean", analysis="primary", visit=v, arm=arm)
        if r is not None:
            return f"{fmt_num(r['value'])}{_unit(ep) if unit else ''}" if not ci else \
                f"{fmt_num(r['value'])} ({fmt_ci(r['lower'], r['upper'])})"
    elif ep.kind == "repeated_continuous":
        r = _row(ep.id, "lsmean", analysis="mmrm", visit=v, arm=arm)
        if r is not None:
            return f"{fmt_num(r['value'])}{_unit(ep) if unit else ''}" if not ci else \
                f"{fmt_num(r['value'])} ({fmt_ci(r['lower'], r['upper'])})"
    elif ep.kind == "time_to_event":
        rows = _store().select(ep.id, statistic="events", analysis="primary", arm=arm)
        if len(rows):
            ev = rows.sort_values("visit", key=lambda s: pd.to_numeric(s, errors="coerce"))
            return f"{fmt_int(ev['value'].iloc[-1])} events"
    return "–"


def _summary_word(ep) -> str:
    return {"binary_responder": "n/N (%)",
            "single_visit_continuous": "adjusted mean (95% CI)",
            "repeated_continuous": "mean change (95% CI)",
            "time_to_event": "events"}.get(ep.kind, "")


def effect_sentence(ep, arm: str, p: bool = True) -> str:
    measure, unit, r, where = effect(ep, arm)
    if r is None:
        return ""
    digits = 2 if ep.kind == "time_to_event" else 1
    pv = _p(ep.id, **where) if p else ""
    return f"{measure} {_est(r, digits, unit)}" + (f", {pv}" if pv else "")


def favourable(ep, arm: str) -> bool | None:
    """True when the interval of the effect lies wholly on the side of benefit, False when it
    includes no effect or lies on the side of harm; None without a result."""
    _m, _u, r, _w = effect(ep, arm)
    if r is None or r["lower"] is None or pd.isna(r["lower"]):
        return None
    null = 1.0 if ep.kind == "time_to_event" else 0.0
    lo, hi = float(r["lower"]), float(r["upper"])
    if ep.kind in ("binary_responder", "time_to_event"):
        return lo > null
    return lo > null if ep.sign > 0 else hi < null


def decision_met() -> bool | None:
    """The decision rule's verdict from the store (None when no decision is declared)."""
    if spec().decision is None:
        return None
    vals = [_val("coprimary_decision", "success", arm=contrast(a), group="")
            for a in experimental()]
    vals = [v for v in vals if v is not None]
    if vals:
        return any(v > 0 for v in vals)
    found = [favourable(ep, a) for ep in primary_endpoints() for a in experimental()]
    rule = spec().decision.rule
    return all(found) if rule == "all" else any(found)


# ------------------------------------------------------------------ counts


def words(md: str) -> int:
    """Words of a Markdown text as a reader counts them: code, markup, citations' keys and
    cross-reference labels give one word each at most."""
    md = re.sub(r"```.*?```", " ", md, flags=re.S)
    md = re.sub(r"^:::.*$", " ", md, flags=re.M)
    md = re.sub(r"\{[#.][^}]*\}", " ", md)
    md = re.sub(r"[*_`#>|\\]", " ", md)
    return sum(1 for w in md.split() if re.search(r"[A-Za-z0-9]", w))


def abstract_md() -> str:
    return "\n\n".join(str(f()) for f in (abstract,))


def main_md() -> str:
    parts = (introduction, methods_design, methods_participants, methods_randomisation,
             methods_blinding, methods_interventions, methods_outcomes, methods_sample_size,
             methods_statistics, results_flow, results_baseline, results_primary,
             results_secondary, results_harms, discussion_findings, discussion_strengths,
             discussion_comparison, discussion_generalisability, conclusion)
    return "\n\n".join(str(f()) for f in parts)


def displays() -> dict[str, int]:
    tables = 2 + (1 if harms_present() else 0)
    figures = 1
    return {"tables": tables, "figures": figures}


def counts() -> dict[str, int]:
    d = displays()
    return {"abstract": words(abstract_md()), "main": words(main_md()), **d,
            "displays": d["tables"] + d["figures"]}


# ------------------------------------------------------------------ title page


def title_page() -> Markdown:
    s = spec()
    idn = s.identity
    lines = []
    if idn.authors:
        keys = list(idn.affiliations)
        names = []
        for a in idn.authors:
            marks = ",".join(str(keys.index(k) + 1) if k in keys else k for k in a.affiliations)
            names.append(f"{escape_markdown(a.name)}" + (f"^{marks}^" if marks else ""))
        lines.append("**Authors:** " + ", ".join(names))
        if idn.affiliations:
            lines.append("**Affiliations:** " + "; ".join(
                f"^{i}^ {escape_markdown(v)}" for i, v in enumerate(idn.affiliations.values(), 1)))
        corr = idn.corresponding_author
        if corr:
            contact = f", {escape_markdown(corr.email)}" if corr.email else ""
            lines.append(f"**Correspondence to:** {escape_markdown(corr.name)}{contact}")
        else:
            lines.append(f"**Correspondence to:** {todo('corresponding author')}")
    else:
        lines.append(f"**Authors and affiliations:** {todo('authors and affiliations')}")
        lines.append(f"**Correspondence to:** {todo('corresponding author')}")
    kw = "; ".join(escape_markdown(k) for k in idn.keywords) if idn.keywords else todo("keywords")
    lines.append(f"**Keywords:** {kw}")
    lines.append(f"**Trial registration:** {registration()}")
    c = counts()
    lines.append(f"**Word count:** abstract {c['abstract']} words; main text {c['main']} words "
                 f"(Introduction to Conclusion, without tables, figures and references)")
    lines.append(f"**Tables and figures:** {c['tables']} tables, {c['figures']} "
                 f"figure{'s' if c['figures'] != 1 else ''}; further material in the online "
                 "supplement and the full statistical report")
    return Markdown("\n\n".join(str(x) for x in lines))


def registration() -> str:
    regs = spec().identity.registrations
    if not regs:
        return str(todo("trial registration number"))
    return "; ".join(f"{escape_markdown(r.registry)} {escape_markdown(r.id)}" for r in regs)


# ------------------------------------------------------------------ abstract


def ep_words(ep) -> str:
    """An endpoint inside a sentence: its label, lower-cased unless it starts with an
    acronym."""
    return _lc(ep.label)


def _primary_words() -> str:
    out = []
    for ep in primary_endpoints():
        out.append(f"{ep_words(ep)} at {_lc(_visit_label(_visit_of(ep)))}"
                   if ep.kind != "time_to_event" and ep.visit is None else ep_words(ep))
    return _and(out)


def _objective() -> str:
    t = text("objective")
    if t:
        return str(t)
    exp = _and([_arm_name(a) for a in experimental()])
    return (f"To assess whether {exp} improves {_primary_words()} compared with "
            f"{_arm_name(control())}.")


def _design_sentence(names: bool = True) -> str:
    idn = spec().identity
    design = (idn.design or "Randomised controlled trial.").strip()
    where = []
    if idn.centres:
        where.append(f"{len(idn.centres)} centres")
    if idn.countries:
        where.append(f"{len(idn.countries)} countries"
                     + (f" ({_and(list(idn.countries))})" if names else ""))
    extra = f" It was conducted in {' in '.join(where)}." if where else ""
    return design + extra


def _randomised() -> dict:
    total = _val("consort", "randomised", population="Randomised", arm="Overall")
    per = {a: _val("consort", "allocated", population="Randomised", arm=a) for a in arms()}
    if total is None:
        per = {a: _val("baseline", "N", arm=a) for a in arms()}
        total = _val("baseline", "N", arm="Overall")
    return {"total": total, "arms": per}


def _allocated_words() -> str:
    r = _randomised()
    if r["total"] is None:
        return ""
    parts = [f"{fmt_int(n)} {a}" for a, n in r["arms"].items() if n is not None]
    return f"{fmt_int(r['total'])} participants were randomised ({_and(parts)})."


def _primary_results(short: bool = False) -> str:
    out = []
    for ep in primary_endpoints():
        for a in experimental():
            measure, _u, r, _w = effect(ep, a)
            if r is None:
                continue
            summ = " vs ".join(arm_summary(ep, arm) for arm in (a, control()))
            if short:
                out.append(f"{ep.label}: {summ}; {effect_sentence(ep, a)}.")
            else:
                out.append(f"For {ep_words(ep)}, the result was {summ} in the {a} and "
                           f"{control()} arms; {effect_sentence(ep, a)}.")
    return " ".join(out)


def _harms_short() -> str:
    out = []
    for a in experimental():
        r = _row("ae_serious", "risk_difference", arm=contrast(a))
        if r is not None:
            arms_ = " vs ".join(_npct("ae_serious", x) for x in (a, control()))
            rel = _val("sae_related", "n_patients", arm=a)
            none = "; none related to the intervention" if rel == 0 else ""
            out.append(f"Serious adverse events: {arms_}{none}.")
        for c, lab in _immune_classes()[:1]:
            rd = _row("sensitisation", "risk_difference", arm=contrast(a), group=c)
            if rd is not None:
                arms_ = " vs ".join(_npct(f"denovo_{c}", x, visit="") for x in (a, control()))
                out.append(f"De novo {lab[:1].lower() + lab[1:]}: {arms_} (risk difference "
                           f"{_est(rd, unit=' percentage points')}).")
    return " ".join(out)


def _analysis_population_words() -> str:
    kinds = {e.kind for e in primary_endpoints()}
    mi = any(e.sensitivity.get("multiple_imputation") or e.sensitivity.get(
        "non_responder_imputation") for e in primary_endpoints())
    if kinds <= {"repeated_continuous"}:
        return ("The primary analysis used all observed assessments of the randomised "
                "participants in a mixed model for repeated measures (missing data assumed "
                "missing at random).")
    out = ("The primary analysis used observed cases within the randomised population "
           "(participants with a primary-visit assessment)")
    return out + ("; imputation of missing outcomes was a sensitivity analysis." if mi
                  else ".")


def _conclusion_core() -> str:
    met = decision_met()
    exp = _and(list(experimental()))
    n = len(primary_endpoints())
    prim = "the primary outcomes" if n > 1 else "the primary outcome"
    if met is None:
        return ""
    immune = ""
    for a in experimental():
        rd = _row("sensitisation", "risk_difference", arm=contrast(a), group="ANY")
        if rd is None:
            classes = _immune_classes()
            rd = _row("sensitisation", "risk_difference", arm=contrast(a),
                      group=classes[0][0]) if classes else None
        if rd is not None and float(rd["lower"]) > 0:
            immune = (f" It induced new antibodies in more participants than {control()}, "
                      "which matters for any repeated or later treatment with it.")
    if met:
        return (f"{exp} improved {prim} compared with {control()}; the size of the effect, "
                "weighed against the harms, decides whether it is worth using in "
                f"practice.{immune}")
    return (f"{exp} did not improve {prim} beyond what {control()} achieved, so these data do "
            f"not support its use for this indication outside further research.{immune}")


def abstract() -> Markdown:
    conc = text("conclusion") or _conclusion_core() or todo("conclusion")
    parts = [
        f"**Objectives.** {_objective()}",
        f"**Methods.** {_design_sentence(names=False)} Primary endpoint"
        f"{'s' if len(primary_endpoints()) > 1 else ''}: {_primary_words()}. "
        f"{_analysis_population_words()}",
        f"**Results.** {_allocated_words()} {_primary_results(short=True)} {_harms_short()}",
        f"**Conclusions.** {conc}",
        f"**Trial registration number.** {registration()}",
    ]
    return Markdown("\n\n".join(p.strip() for p in parts))


def key_messages() -> Markdown:
    t = text("key_messages")
    if t:
        return t
    return Markdown("\n\n".join(f"**{h}**\n\n- {todo('key messages: ' + h.lower())}" for h in (
        "What is already known on this topic", "What this study adds",
        "How this study might affect research, practice or policy")))


# ------------------------------------------------------------------ introduction, methods


def introduction() -> Markdown:
    t = text("introduction")
    return t if t else Markdown(f"{todo('introduction')}\n\n{_objective()}")


def methods_design() -> Markdown:
    idn = spec().identity
    parts = [_design_sentence()]
    if idn.allocation_ratio:
        parts.append(f"Participants were allocated in a {idn.allocation_ratio} ratio to "
                     f"{_and([_arm_name(a) for a in arms()])}.")
    if idn.registrations:
        parts.append(f"The trial was registered ({registration()}).")
    pub = (idn.publication or {}).get("citation")
    if pub:
        parts.append(f"Its main report has been published [@{pub}].")
    parts.append("This article reports the prespecified analyses; every other table and figure "
                 "is in the online supplement and the full statistical report.")
    if report().trial.synthetic:
        parts.append("**The data analysed here are synthetic**, generated to match published "
                     "summary results; no number describes real participants.")
    return Markdown(" ".join(parts))


def methods_participants() -> Markdown:
    t = text("eligibility")
    return t if t else todo("eligibility criteria")


def methods_randomisation() -> Markdown:
    t = text("randomisation")
    strata = [c.label for c in spec().stratification]
    extra = (f" Randomisation was stratified by {_and([s.lower() for s in strata])}."
             if strata else "")
    body = str(t) if t else str(todo("randomisation method and allocation concealment"))
    return Markdown(body + extra)


def methods_blinding() -> Markdown:
    t = text("blinding")
    return t if t else todo("blinding")


def methods_interventions() -> Markdown:
    t = text("interventions")
    if t:
        return t
    return Markdown(" ".join(f"{a}: {escape_markdown(_arm_name(a))}." for a in arms()))


def _rule_words(ep) -> str:
    rule = spec().rules.get(ep.rule) if ep.rule else None
    return f" ({rule.description.strip().rstrip('.')})" if rule and rule.description else ""


def methods_outcomes() -> Markdown:
    s = spec()
    prim = []
    for ep in primary_endpoints():
        desc = f" ({ep.description.strip().rstrip('.')})" if ep.description else ""
        prim.append(f"{ep.label}{desc}{_rule_words(ep)}")
    sec = []
    for ep in secondary_endpoints():
        mcid = ""
        if ep.mcid:
            value = fmt_num(ep.mcid, 2).rstrip("0").rstrip(".")
            cite = f" [@{ep.mcid_source}]" if ep.mcid_source else ""
            unit = _unit(ep) if ep.unit != "score" else ""
            mcid = f" (minimal clinically important difference {value}{unit}{cite})"
        sec.append(f"{ep.label}{mcid}")
    visits = _and([_lc(v.label) for v in s.visits if v.avisitn != s.baseline_visit])
    lines = [f"Assessments were made at baseline and at {visits}; the primary visit was "
             f"{_lc(_visit_label(s.primary_visit))}."]
    word = "endpoints were" if len(prim) > 1 else "endpoint was"
    lines.append(f"The primary {word} {'; '.join(prim)}.")
    if sec:
        lines.append(f"Secondary endpoints were {'; '.join(sec)}.")
    mods = s.modules or {}
    if "immunogenicity" in mods and harms_present():
        lab = _and([p.get("label", p.get("paramcd")) for p in mods["immunogenicity"].get(
            "parameters", [])])
        lines.append(f"Harms were adverse events and the immune response ({lab}).")
    elif "adverse_events" in mods:
        lines.append("Harms were adverse events.")
    return Markdown(" ".join(lines))


def methods_sample_size() -> Markdown:
    n = spec().identity.planned_sample_size
    t = text("sample_size")
    lead = f"The planned sample size was {n} participants. " if n else ""
    return Markdown(lead + (str(t) if t else str(todo("sample-size calculation"))))


def methods_statistics() -> Markdown:
    s = spec()
    kinds = {e.kind for e in s.endpoints}
    cov = _and([c.label.lower() for c in s.adjustment])
    out = [_analysis_population_words()]
    if "binary_responder" in kinds:
        out.append("Proportions were compared by the risk difference with Newcombe's hybrid "
                   "score interval [@newcombe1998interval] and the chi-square test with "
                   "continuity correction [@yates1934contingency].")
        sens = set()
        for e in primary_endpoints():
            sens |= {k for k, v in e.sensitivity.items() if v}
        words_ = {"non_responder_imputation": "counting missing outcomes as non-response",
                  "multiple_imputation": "multiple imputation [@rubin1987multiple]",
                  "per_protocol": "the per-protocol population",
                  "adjusted": f"adjustment for {cov}" if cov else "covariate adjustment",
                  "tipping_point": "a tipping-point analysis",
                  "bayes": "a Bayesian analysis"}
        listed = [words_[k] for k in words_ if k in sens]
        if listed:
            out.append(f"Sensitivity analyses of the primary endpoint used {_and(listed)}.")
    if "single_visit_continuous" in kinds:
        out.append("Single-visit continuous endpoints were compared by analysis of covariance on "
                   f"the baseline value{' and ' + cov if cov else ''}.")
    if "repeated_continuous" in kinds:
        df = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward-Roger"}.get(
            s.mmrm.df, s.mmrm.df)
        ref = {"Satterthwaite": " [@satterthwaite1946approximate]",
               "Kenward-Roger": " [@kenward1997small]"}.get(df, "")
        out.append("Repeated continuous endpoints were analysed by a mixed model for repeated "
                   f"measures [@mallinckrodt2008recommendations] of the change from baseline "
                   f"with arm, visit, their interaction and the baseline value"
                   f"{' and ' + cov if cov else ''}, {s.mmrm.covariance} covariance and "
                   f"{df} degrees of freedom{ref}.")
    if "time_to_event" in kinds:
        out.append("Time to event was described by Kaplan-Meier curves [@kaplan1958nonparametric] "
                   "and compared by the log-rank test and a Cox model "
                   "[@cox1972regression].")
    if s.decision and s.decision.multiplicity:
        out.append(s.decision.multiplicity.strip())
    out.append("Effects are given with 95% confidence intervals. Harms were analysed in the "
               "safety population (participants as treated). All statistics were computed by "
               "code from the data into a results store, from which this article, the full "
               "statistical report and the online supplement are generated.")
    return Markdown(" ".join(out))


# ------------------------------------------------------------------ results


def results_flow() -> Markdown:
    out = []
    assessed = _val("consort", "assessed", population="Screened", arm="Overall")
    excluded = _val("consort", "excluded", population="Screened", arm="Overall", group="")
    total = _randomised()["total"]
    if excluded is None and assessed is not None and total is not None:
        excluded = assessed - total
    if assessed is not None:
        out.append(f"Of {fmt_int(assessed)} people assessed for eligibility, "
                   f"{fmt_int(excluded)} were excluded.")
    out.append(_allocated_words())
    recv = [(a, _val("consort", "received", population="Randomised", arm=a)) for a in arms()]
    if all(v is not None for _a, v in recv):
        out.append("The allocated intervention was received by "
                   + _and([f"{fmt_int(v)} in the {a} arm" for a, v in recv]) + ".")
    v = primary_visit()
    ana = [(a, _val("consort", "analysed", analysis="primary", visit=v, arm=a)) for a in arms()]
    if all(x is not None for _a, x in ana):
        out.append(f"At {_lc(_visit_label(v))}, "
                   + _and([f"{fmt_int(x)} ({a})" for a, x in ana])
                   + " participants were assessed and analysed (@fig-flow).")
    else:
        out.append("@fig-flow shows the flow of participants.")
    return Markdown(" ".join(x for x in out if x))


def results_baseline() -> Markdown:
    smds = []
    for var in spec().baseline_table:
        key = _baseline_key(var)
        r = _row(key, "smd", arm=contrast(experimental()[0])) if experimental() else None
        if r is not None and not pd.isna(r["value"]):
            smds.append((abs(float(r["value"])), var.label or key))
    out = "Baseline characteristics are given in @tbl-baseline."
    if smds:
        big, lab = max(smds)
        verdict = "similar in the two arms" if big < 0.2 else "similar in most respects"
        out = (f"Baseline characteristics were {verdict} (@tbl-baseline); the largest "
               f"standardised difference was {fmt_num(big, 2)} ({lab.lower()}).")
    return Markdown(out)


def _missing_words(ep) -> str:
    v = _visit_of(ep)
    miss = [(a, _val(ep.id, "n_missing", analysis="primary", visit=v, arm=a)) for a in arms()]
    if not all(m is not None for _a, m in miss):
        return ""
    return (f" The outcome was missing for {_and([f'{fmt_int(m)} ({a})' for a, m in miss])} "
            "randomised participants.")


def _sensitivity_words(ep) -> str:
    if ep.kind != "binary_responder":
        return ""
    v = _visit_of(ep)
    names = {"nri": "non-response imputation", "mi": "multiple imputation",
             "pp": "per-protocol", "bayes": "Bayesian (credible interval)"}
    out = []
    for a in experimental():
        for analysis, lab in names.items():
            r = _row(ep.id, "risk_difference", analysis=analysis, visit=v, arm=contrast(a))
            if r is not None:
                out.append(f"{lab} {fmt_num(r['value'])} ({fmt_ci(r['lower'], r['upper'])})")
        adj = _store().select(ep.id, statistic="risk_difference", visit=v, arm=contrast(a))
        adj = adj[adj["analysis"].astype(str).str.startswith("adjusted")]
        if len(adj) == 1:
            r = adj.iloc[0]
            out.append(f"covariate-adjusted {fmt_num(r['value'])} "
                       f"({fmt_ci(r['lower'], r['upper'])})")
    if not out:
        return ""
    return (f" In sensitivity analyses the risk difference was {_and(out)} percentage points "
            "(online supplement).")


def results_primary() -> Markdown:
    out = [_primary_results()]
    for ep in primary_endpoints():
        out.append(_missing_words(ep) + _sensitivity_words(ep))
    out.append("@tbl-outcomes gives every endpoint at the primary visit.")
    met = decision_met()
    if met is not None and len(experimental()) >= 1:
        rule = spec().decision.rule
        need = {"all": "on every primary endpoint", "any": "on at least one primary endpoint"
                }.get(rule, "in the prespecified hierarchy")
        out.append(f"The prespecified success criterion, superiority {need}, was "
                   f"{'met' if met else 'not met'}.")
    return Markdown(" ".join(x.strip() for x in out if x.strip()))


def results_secondary() -> Markdown:
    eps = secondary_endpoints()
    if not eps:
        others = [str(escape_markdown(e.label)) for e in spec().endpoints
                  if e.role == "exploratory"]
        tail = (f"; its exploratory analyses ({_and(others)}) are in the online supplement"
                if others else "")
        return Markdown(f"The trial declared no secondary endpoint{tail}.")
    fav, out = [], []
    for ep in eps:
        for a in experimental():
            f = favourable(ep, a)
            if f is None:
                continue
            if f:
                fav.append(ep.label)
            _m, _u, r, _w = effect(ep, a)
            out.append(f"{ep.label} {effect_sentence(ep, a, p=False)}")
    if not out:
        return Markdown("")
    lead = ("No secondary endpoint differed between the arms at the primary visit"
            if not fav else f"The arms differed on {_and(fav)}")
    return Markdown(f"{lead} (@tbl-outcomes): {'; '.join(out)}. Results at every visit are in "
                    "the online supplement.")


def _npct(endpoint: str, arm: str, **where) -> str:
    n = _val(endpoint, "n_patients", arm=arm, **where)
    if n is None:
        n = _val(endpoint, "n", arm=arm, **where)
    total = _val(endpoint, "N", arm=arm, **where)
    if n is None or not total:
        return "–"
    return f"{fmt_int(n)}/{fmt_int(total)} ({fmt_pct(100 * n / total)})"


def _immune_classes() -> list[tuple[str, str]]:
    """``(group, label)`` of the immune response's classes, "any" first (from the store)."""
    mod = (spec().modules or {}).get("immunogenicity") or {}
    labels = {p.get("paramcd"): p.get("label", p.get("paramcd"))
              for p in mod.get("parameters", [])}
    groups = sorted(set(_store().select("sensitisation", statistic="risk_difference")["group"]))
    out = [(g, labels.get(g, g)) for g in groups if g in labels]
    anyg = [g for g in groups if g not in labels]
    return [(g, "Antibodies of any measured class") for g in anyg] + out


AE_ROWS = (("ae_any", "Any adverse event"), ("ae_serious", "Serious adverse event"),
           ("ae_severe", "Severe adverse event"), ("ae_related", "Related adverse event"),
           ("sae_related", "Related serious adverse event"),
           ("ae_withdrawal", "Adverse event leading to withdrawal"), ("death", "Death"))


def show_flow_figure() -> None:
    """The exported flow diagram in its figure cell (a placeholder when it was not drawn)."""
    from analysis.displays.display import show_figure, show_markdown

    try:
        show_figure("consort", alt="CONSORT flow diagram")
    except FileNotFoundError:
        from IPython.display import display

        display(show_markdown(todo("flow diagram")))


def harms_present() -> bool:
    """The harms table applies: the trial has adverse-event results."""
    return _has("ae_any")


def harms_table() -> pd.DataFrame:
    rows = []
    for key, lab in AE_ROWS:
        if not _has(key):
            continue
        row = {"Participants with": lab}
        for a in arms():
            row[f"{a}, n/N (%)"] = _npct(key, a)
        for a in experimental():
            r = _row(key, "risk_difference", arm=contrast(a))
            head = "RD, percentage points (95% CI)" if len(experimental()) == 1 else \
                f"RD {contrast(a)} (95% CI)"
            row[head] = f"{fmt_num(r['value'])} ({fmt_ci(r['lower'], r['upper'])})" \
                if r is not None else "–"
        rows.append(row)
    for c, lab in _immune_classes():
        row = {"Participants with": f"De novo: {lab[:1].lower() + lab[1:]}"}
        for a in arms():
            row[f"{a}, n/N (%)"] = _npct(f"denovo_{c}", a, visit="")
        for a in experimental():
            r = _row("sensitisation", "risk_difference", arm=contrast(a), group=c)
            head = "RD, percentage points (95% CI)" if len(experimental()) == 1 else \
                f"RD {contrast(a)} (95% CI)"
            row[head] = f"{fmt_num(r['value'])} ({fmt_ci(r['lower'], r['upper'])})" \
                if r is not None else "–"
        rows.append(row)
    return pd.DataFrame(rows)


def results_harms() -> Markdown:
    if not harms_present() and not _has("sensitisation"):
        return Markdown("No adverse-event data were available for this report, so harms are "
                        "not reported.")
    out = []
    for a in experimental():
        vs = contrast(a)
        for key, lab in (("ae_any", "at least one adverse event"),
                         ("ae_serious", "a serious adverse event")):
            r = _row(key, "risk_difference", arm=vs)
            if r is not None:
                out.append(f"{lab[:1].upper() + lab[1:]} was reported by "
                           + _and([f"{_npct(key, x)} ({x})" for x in (a, control())])
                           + f" (risk difference {_est(r, unit=' percentage points')}).")
        rel = _val("sae_related", "n_patients", arm=a)
        if rel is not None:
            out.append("Serious adverse events related to the intervention: "
                       + _and([f"{_npct('sae_related', x)} ({x})" for x in (a, control())])
                       + ".")
        for c, lab in _immune_classes():
            rd = _row("sensitisation", "risk_difference", arm=vs, group=c)
            if rd is None:
                continue
            out.append(f"De novo {lab[:1].lower() + lab[1:]} developed in "
                       + _and([f"{_npct(f'denovo_{c}', x, visit='')} ({x})"
                               for x in (a, control())])
                       + f" (risk difference {_est(rd, unit=' percentage points')}).")
    if harms_present():
        out.append("@tbl-harms summarises the harms; the complete adverse-event tables and "
                   "listings are in the online supplement.")
    return Markdown(" ".join(out))


#: Short names of each kind's summary and effect in the outcomes table (its caption explains).
MEASURES = {"binary_responder": ("n/N (%)", "RD"),
            "single_visit_continuous": ("adj. mean", "MD"),
            "repeated_continuous": ("LS mean change", "MD"),
            "time_to_event": ("events", "HR")}


def outcomes_table() -> pd.DataFrame:
    """Every endpoint at the primary visit: one row per endpoint (and comparison)."""
    rows = []
    several = len(experimental()) > 1
    for ep in primary_endpoints() + secondary_endpoints():
        for a in experimental():
            _measure, _unit_, r, where = effect(ep, a)
            if r is None:
                continue
            role = "primary" if ep in primary_endpoints() else ROLE_WORDS.get(ep.role, "")
            name = ep.short_label or ep.label
            unit = f", {ep.unit}" if (ep.continuous and ep.unit and ep.unit != "score"
                                      and f"({ep.unit})" not in name) else ""
            row = {"Endpoint": f"{name}{unit} ({role})"}
            if several:
                row["Comparison"] = contrast(a)
            summary, eff = MEASURES.get(ep.kind, ("", ""))
            row["Measure"] = f"{summary}; {eff}"
            for arm in (arms() if not several else (a, control())):
                row[arm if not several else "Experimental" if arm == a else "Control"] = \
                    arm_summary(ep, arm, unit=False)  # unit in the first column, CI for
            # the effect only, so that the table fits the page
            digits = 2 if ep.kind == "time_to_event" else 1
            row["Effect (95% CI)"] = f"{fmt_num(r['value'], digits)} " \
                                     f"({fmt_ci(r['lower'], r['upper'], digits)})"
            pv = _val(ep.id, "p_value", **where)
            row["p"] = fmt_p(pv) if pv is not None else "–"
            rows.append(row)
    return pd.DataFrame(rows)


def _baseline_key(var) -> str:
    if var.endpoint:
        try:
            ep = spec().endpoint(var.endpoint)
            return f"baseline:{ep.paramcd or ep.id}"
        except KeyError:
            return f"baseline:{var.endpoint}"
    return f"baseline:{var.column}"


def baseline_table() -> pd.DataFrame:
    rows = []
    for var in spec().baseline_table:
        key = _baseline_key(var)
        label = var.label
        if var.endpoint and not label:
            label = spec().endpoint(var.endpoint).label
        unit = f", {var.unit}" if var.unit else ""
        if var.type in ("normal", "nonnormal"):
            stat = "mean (SD)" if var.type == "normal" else "median (IQR)"
            row = {"Characteristic": f"{label}{unit}, {stat}"}
            for a in arms():
                if var.type == "normal":
                    m, sd = _val(key, "mean", arm=a), _val(key, "sd", arm=a)
                    row[a] = "–" if m is None else f"{fmt_num(m, var.decimals)} " \
                                                   f"({fmt_num(sd, var.decimals)})"
                else:
                    md, q1, q3 = (_val(key, s, arm=a) for s in ("median", "q1", "q3"))
                    row[a] = "–" if md is None else f"{fmt_num(md, var.decimals)} " \
                                                    f"({fmt_num(q1, var.decimals)}–" \
                                                    f"{fmt_num(q3, var.decimals)})"
            rows.append(row)
            continue
        rows.append({"Characteristic": f"{label}, n (%)", **{a: "" for a in arms()}})
        levels = list(var.levels) or sorted(
            {g for g in _store().select(key, statistic="percent")["group"] if g})
        for lev in levels:
            shown = var.value_labels.get(str(lev), str(lev))
            row = {"Characteristic": f"\u2003{shown}"}
            for a in arms():
                n = _val(key, "n", arm=a, group=str(lev))
                pct = _val(key, "percent", arm=a, group=str(lev))
                row[a] = "–" if n is None else f"{fmt_int(n)} ({fmt_pct(pct)})"
            rows.append(row)
    df = pd.DataFrame(rows)
    ns = {a: _val("baseline", "N", arm=a) for a in arms()}
    return df.rename(columns={a: f"{a} (n = {fmt_int(n)})" for a, n in ns.items()
                              if n is not None})


# ------------------------------------------------------------------ discussion, conclusion


def discussion_findings() -> Markdown:
    out = []
    t = text("discussion")
    met = decision_met()
    exp, ctl = _and(list(experimental())), control()
    n = len(primary_endpoints())
    what = "primary outcomes" if n > 1 else "primary outcome"
    if met is not None:
        out.append(f"{exp} was superior to {ctl} on the {what}." if met else
                   f"The {what} did not differ materially between {exp} and {ctl}.")
    for ep in primary_endpoints():
        for a in experimental():
            _m, _u, r, _w = effect(ep, a)
            if r is None:
                continue
            out.append(f"For {ep_words(ep)}, the data are compatible "
                       f"with effects from {fmt_num(r['lower'])} to {fmt_num(r['upper'])}"
                       f"{' percentage points' if ep.kind == 'binary_responder' else _unit(ep)}"
                       " (95% CI).")
    if t:
        out.append(str(t))
    return Markdown(" ".join(out))


def discussion_strengths() -> Markdown:
    t = text("limitations")
    body = [str(t)] if t else [str(todo("strengths and limitations"))]
    if not t and any(e.kind == "binary_responder" for e in primary_endpoints()):
        body.append("The primary analysis used observed cases; the sensitivity analyses, "
                    "including imputation of the missing outcomes, test how far the "
                    "conclusion depends on the participants without a primary-visit "
                    "assessment.")
    if report().trial.synthetic:
        body.append("The data analysed here are synthetic, so the numbers illustrate the "
                    "analysis, not the trial.")
    return Markdown(" ".join(body))


def discussion_comparison() -> Markdown:
    t = text("comparison")
    return t if t else todo("comparison with other studies")


def discussion_generalisability() -> Markdown:
    t = text("generalisability")
    return t if t else todo("generalisability")


def conclusion() -> Markdown:
    t = text("conclusion")
    return t if t else Markdown(_conclusion_core() or str(todo("conclusion")))


# ------------------------------------------------------------------ declarations


def declarations() -> Markdown:
    decl = spec().identity.declarations or {}
    out = []
    for key, head in DECLARATIONS:
        val = decl.get(key)
        out.append(f"**{head}.** " + (str(escape_markdown(val.strip())) if val
                                     else str(todo(PLACEHOLDER[key]))))
    out.append("**Supplementary material.** The online supplement (outcomes at every visit, "
               "every sensitivity analysis, model details, complete adverse-event tables) and "
               "the full statistical report are generated from the same results store.")
    return Markdown("\n\n".join(out))


def placeholders_expected() -> list[str]:
    """The declarations this trial's specification does not supply (as placeholders name
    them)."""
    decl = spec().identity.declarations or {}
    return [PLACEHOLDER[k] for k, _h in DECLARATIONS if not decl.get(k)]


def absent_items() -> list[str]:
    """Every placeholder the article shows for this trial, as the placeholders name them."""
    s = spec()
    idn = s.identity
    out = []
    if not idn.authors:
        out += ["authors and affiliations", "corresponding author"]
    elif not idn.corresponding_author:
        out.append("corresponding author")
    if not idn.keywords:
        out.append("keywords")
    if not idn.registrations:
        out.append("trial registration number")
    if text("key_messages") is None:
        out += [f"key messages: {h.lower()}" for h in (
            "What is already known on this topic", "What this study adds",
            "How this study might affect research, practice or policy")]
    for key, what in (("introduction", "introduction"), ("eligibility", "eligibility criteria"),
                      ("randomisation", "randomisation method and allocation concealment"),
                      ("blinding", "blinding"), ("sample_size", "sample-size calculation"),
                      ("limitations", "strengths and limitations"),
                      ("comparison", "comparison with other studies"),
                      ("generalisability", "generalisability")):
        if text(key) is None:
            out.append(what)
    return out + placeholders_expected()
