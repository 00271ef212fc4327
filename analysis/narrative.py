"""Generic prose of the frame chapters (abstract, introduction, methods, discussion), written
from the trial's specification and its results store.

Nothing here knows a trial: endpoints, arms, visits, populations, covariates and modules are
read from ``rep.spec`` (:class:`analysis.spec.TrialSpec`), numbers from ``rep.store``. Every
function returns :class:`~analysis.escape.Markdown`; labels from the specification or the data
are escaped as text. A statistic the store does not hold leaves its sentence out (an optional
analysis that was not run), never a traceback.

Sentences owned by an endpoint family (the decision statement, the summary of the repeated
measures, the safety summary) are the family's own: :func:`family_sentence` calls them by
name, binding their arguments by parameter name, so a family may take ``(store, arm,
control)`` or ``(trial, store)``.
"""

from __future__ import annotations

import importlib
import inspect

from analysis.displays.formatting import fmt_ci, fmt_int, fmt_num, fmt_p_eq, fmt_pct
from analysis.escape import Markdown
from analysis.report import placeholder
from analysis.results import ResultNotFound

#: How the optional modules are named in prose.
MODULE_WORDS = {"immunogenicity": "the immune response", "adverse_events": "safety",
                "screening": None, "disposition": None}
ROLE_WORDS = {"primary": "primary", "key_secondary": "key secondary",
              "secondary": "secondary", "exploratory": "exploratory"}


# ------------------------------------------------------------------ small pieces
def and_list(items, last: str = "and") -> Markdown:
    """``a``, ``a and b``, ``a, b and c`` (items escaped unless Markdown)."""
    items = [i for i in items if i]
    if not items:
        return Markdown()
    if len(items) == 1:
        return Markdown("{}").format(items[0])
    return Markdown(", ").join(items[:-1]) + Markdown(f" {last} ") + Markdown("{}").format(
        items[-1])


def lower_first(text: str) -> str:
    """The first letter lowered for use inside a sentence, unless the text is a name:
    ``'Pain score'`` -> ``'pain score'``, ``'Month 3'`` -> ``'month 3'``; ``'BDI-II'`` and
    ``'Beck Depression Inventory'`` (more title-case words) are kept."""
    words = text.split()
    if not words or not (len(words[0]) > 1 and words[0][0].isupper() and words[0][1:].islower()):
        return text
    if any(len(w) > 1 and w[0].isupper() and w[1:].islower() for w in words[1:]):
        return text
    return text[0].lower() + text[1:]


def upper_first(text: str) -> Markdown:
    """Markdown ``text`` with its first letter capitalised (a sentence start)."""
    text = Markdown(text)
    return Markdown(text[:1].upper() + text[1:])


def unit_text(unit: str | None) -> str:
    """How a difference in ``unit`` is named: points for scores, percentage points for %."""
    if not unit or unit.lower() in ("score", "points"):
        return "points"
    if unit == "%":
        return "percentage points"
    return unit


def decision_endpoints(spec) -> tuple:
    """The endpoints of the decision rule, else the primary endpoints."""
    ids = tuple(spec.decision.endpoints) if getattr(spec, "decision", None) else ()
    eps = tuple(spec.endpoint(i) for i in ids)
    return eps or tuple(spec.endpoints_by(role="primary"))


def endpoint_visit(spec, ep) -> int:
    """The visit at which ``ep`` is judged: its own visit, else the primary visit."""
    return ep.visit if ep.visit is not None else spec.primary_visit


def _mentions(label: str, visit_text: str) -> bool:
    return visit_text.lower() in label.lower()


def endpoint_phrase(rep, ep, *, visit: bool = True) -> Markdown:
    """``label at month 8`` inside a sentence (the visit left out when the label names it
    already)."""
    label = lower_first(ep.label)
    if not visit or ep.kind == "time_to_event":
        return Markdown("{}").format(label)
    when = rep.visit_label(endpoint_visit(rep.spec, ep), prose=True)
    if _mentions(label, when):
        return Markdown("{}").format(label)
    return Markdown("{} at {}").format(label, when)


# ------------------------------------------------------------------ effects from the store
def _row(rep, endpoint, statistic, **where):
    try:
        return rep.store.get(endpoint, statistic, **where)
    except ResultNotFound:
        return None


def effect(rep, ep, arm: str) -> dict | None:
    """The main effect of ``arm`` against the control arm for endpoint ``ep`` in its primary
    analysis: ``{"measure", "value", "lower", "upper", "p", "unit", "digits"}``, or None when
    the store does not hold it."""
    c = rep.contrast(arm)
    v = endpoint_visit(rep.spec, ep)
    if ep.kind == "binary_responder":
        look = [("risk difference", dict(statistic="risk_difference", visit=v)),
                ("risk difference", dict(statistic="risk_difference"))]
        unit, digits = "percentage points", 1
    elif ep.kind == "single_visit_continuous":
        look = [("adjusted mean difference", dict(statistic="mean_difference", visit=v)),
                ("adjusted mean difference", dict(statistic="mean_difference"))]
        unit, digits = unit_text(ep.unit), 1
    elif ep.kind == "repeated_continuous":
        look = [("difference in least-squares mean change from baseline",
                 dict(statistic="difference", analysis="mmrm", visit=v))]
        unit, digits = unit_text(ep.unit), 1
    elif ep.kind == "time_to_event":
        look = [("hazard ratio", dict(statistic="hazard_ratio", analysis="cox")),
                ("hazard ratio", dict(statistic="hazard_ratio"))]
        unit, digits = "", 2
    else:
        return None
    for measure, where in look:
        stat = where.pop("statistic")
        r = _row(rep, ep.id, stat, arm=c, **where)
        if r is None:
            continue
        p = _row(rep, ep.id, "p_value", arm=c, **where)
        return {"measure": measure, "value": float(r["value"]), "lower": float(r["lower"]),
                "upper": float(r["upper"]), "p": None if p is None else float(p["value"]),
                "unit": unit, "digits": digits}
    return None


def effect_text(e: dict) -> Markdown:
    """``4.6 percentage points (95% CI −12.9 to 21.8; p = 0.77)``."""
    d = e["digits"]
    unit = f" {e['unit']}" if e["unit"] else ""
    p = f"; {fmt_p_eq(e['p'])}" if e["p"] is not None else ""
    return Markdown("{}{} (95% CI {}{})").format(fmt_num(e["value"], d), unit,
                                                 fmt_ci(e["lower"], e["upper"], d), p)


def _responders(rep, ep, arm):
    v = endpoint_visit(rep.spec, ep)
    for where in (dict(visit=v), {}):
        n = _row(rep, ep.id, "n_responders", arm=arm, **where)
        big_n = _row(rep, ep.id, "N", arm=arm, **where)
        pct = _row(rep, ep.id, "percent", arm=arm, **where)
        if n is not None and big_n is not None and pct is not None:
            return Markdown("{}/{} ({})").format(fmt_int(n["value"]), fmt_int(big_n["value"]),
                                                 fmt_pct(pct["value"]))
    return None


def result_sentence(rep, ep) -> Markdown:
    """One sentence on ``ep``'s primary analysis, for every experimental arm ("" when the
    store holds none of it)."""
    arms, ctl = rep.trial.experimental_arms, rep.trial.control_arm
    multi = len(arms) > 1
    parts = []
    for arm in arms:
        e = effect(rep, ep, arm)
        if e is None:
            continue
        who = Markdown("{} vs {}: ").format(arm, ctl) if multi else Markdown()
        parts.append(who + Markdown("{} {}").format(e["measure"], effect_text(e)))
    if not parts:
        return Markdown()
    head = upper_first(endpoint_phrase(rep, ep))
    if ep.kind == "binary_responder":
        counts = [(a, _responders(rep, ep, a)) for a in (*arms, ctl)]
        if all(c for _, c in counts):
            head += Markdown(": ") + and_list(
                [Markdown("{} with {}").format(c, a) for a, c in counts])
            return head + Markdown("; ") + Markdown("; ").join(parts) + Markdown(".")
    return head + Markdown(": ") + Markdown("; ").join(parts) + Markdown(".")


def primary_results(rep) -> Markdown:
    """The result sentence of every decision (else primary) endpoint."""
    return Markdown(" ").join(s for s in (result_sentence(rep, ep)
                                          for ep in decision_endpoints(rep.spec)) if s)


def randomness_sentence(rep) -> str:
    """Which steps draw random numbers (all seeded), from the trial: its synthetic-data
    generator and any multiple imputation the specification declares."""
    steps = (["the synthetic-data generator"] if getattr(rep.trial, "synthetic", False) else [])
    if any("multiple_imputation" in (getattr(e, "sensitivity", None) or {})
           for e in rep.spec.endpoints):
        steps.append("multiple imputation")
    if not steps:
        return "No step of the analysis draws random numbers"
    return "Randomness is seeded (" + " and ".join(steps) + ")"


def paragraph(*parts) -> Markdown:
    """The non-empty ``parts`` joined by spaces (text escaped, :class:`Markdown` as it is):
    optional sentences shown in a code cell, where an empty result shows nothing (an empty
    inline value would show as code under Quarto).

    >>> print(paragraph(Markdown("*One.*"), "", "Two < three"))
    *One.* Two \\< three
    """
    return Markdown(" ").join(p for p in parts if str(p).strip())


def precision_sentence(rep) -> Markdown:
    """How precise the first decision endpoint's effect is (patients analysed, interval)."""
    eps = decision_endpoints(rep.spec)
    if not eps:
        return Markdown()
    ep = eps[0]
    arm, ctl = rep.trial.experimental_arms[0], rep.trial.control_arm
    e = effect(rep, ep, arm)
    if e is None:
        return Markdown()
    ns = [(a, _row(rep, ep.id, "N", arm=a, visit=endpoint_visit(rep.spec, ep)))
          for a in (arm, ctl)]
    who = Markdown()
    if all(r is not None for _, r in ns):
        who = Markdown("With {} patients analysed for {}, ").format(
            and_list([Markdown("{} {}").format(fmt_int(r["value"]), a) for a, r in ns]),
            endpoint_phrase(rep, ep))
    d = e["digits"]
    unit = f" {e['unit']}" if e["unit"] else ""
    alpha = rep.spec.decision.alpha if getattr(rep.spec, "decision", None) else 0.05
    caveat = (Markdown(", and a result that is not significant is not evidence that {} is "
                       "ineffective").format(arm)
              if e["p"] is not None and e["p"] >= alpha else Markdown())
    text = Markdown("the 95 % confidence interval of the {}, {} to {}{}, gives the range of "
                    "effects compatible with the data{}.").format(
        e["measure"], fmt_num(e["lower"], d), fmt_num(e["upper"], d), unit, caveat)
    return upper_first(who + text)


def control_rate_sentence(rep) -> Markdown:
    """The response rate of the control arm for a binary decision endpoint ("" if none)."""
    ctl = rep.trial.control_arm
    for ep in decision_endpoints(rep.spec):
        if ep.kind != "binary_responder":
            continue
        pct = _row(rep, ep.id, "percent", arm=ctl, visit=endpoint_visit(rep.spec, ep))
        if pct is None:
            continue
        return Markdown("In the {} arm, {} of the patients analysed met the responder "
                        "definition ({}).").format(ctl, fmt_pct(pct["value"]),
                                                    endpoint_phrase(rep, ep))
    return Markdown()


# ------------------------------------------------------------------ family sentences
def family_sentence(rep, module: str, name: str, **extra) -> Markdown | None:
    """``analysis.families.<module>.<name>(...)`` with its arguments bound by name from the
    report (``store``, ``trial``, ``spec``, ``rep``, ``arms``, ``arm``, ``control``); None
    when the family has no such function or needs an argument the report cannot give."""
    try:
        fn = getattr(importlib.import_module(f"analysis.families.{module}"), name)
    except (ImportError, AttributeError):
        return None
    have = {"store": rep.store, "trial": rep.trial, "spec": rep.spec, "rep": rep,
            "report": rep, "arms": rep.trial.arms, "control": rep.trial.control_arm,
            "arm": rep.trial.experimental_arms[0], **extra}
    args = {}
    for p in inspect.signature(fn).parameters.values():
        if p.name in have:
            args[p.name] = have[p.name]
        elif p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL,
                                                                     p.VAR_KEYWORD):
            return None
    try:
        out = fn(**args)
    except ResultNotFound:  # the family's analysis is not in this trial's store
        return None
    return out if isinstance(out, Markdown) else Markdown("{}").format(out)


def decision_statement(rep) -> Markdown:
    """The trial's decision, in the family's own words (decision, else co-primary family),
    else from the store's decision rows; ``""`` when the trial declares no decision rule."""
    if not getattr(rep.spec, "decision", None):
        return Markdown()
    for module, name in (("decision", "decision_text"), ("decision", "decision_sentence"),
                         ("coprimary", "decision_sentence")):
        out = family_sentence(rep, module, name)
        if out is not None:
            return out
    return generic_decision(rep)


def favourable(ep, e: dict) -> bool:
    """True when the estimate ``e`` of ``ep`` points in favour of the experimental arm."""
    if ep.kind == "time_to_event":
        return e["value"] > 1  # a hazard of reaching the event (response) sooner
    if ep.kind == "binary_responder":
        return e["value"] > 0
    return e["value"] * ep.sign > 0


def generic_decision(rep) -> Markdown:
    """The decision rule applied to the primary effects in the store (when no family states
    it): superiority of each experimental arm, two-sided at the declared level."""
    dec = rep.spec.decision
    eps = [rep.spec.endpoint(i) for i in dec.endpoints]
    ctl = rep.trial.control_arm
    out = []
    for arm in rep.trial.experimental_arms:
        wins = []
        for ep in eps:
            e = effect(rep, ep, arm)
            if e is None or e["p"] is None:
                return Markdown()
            wins.append(e["p"] < dec.alpha and favourable(ep, e))
        ok = (all(wins) if dec.rule == "all" else any(wins) if dec.rule == "any"
              else wins[0])
        what = and_list([endpoint_phrase(rep, ep) for ep in eps],
                        "and" if dec.rule == "all" else "or")
        level = fmt_num(dec.alpha, 2)
        out.append(Markdown("The trial {} its decision rule for {} against {} (superiority on "
                            "{}, two-sided at the {} level).").format(
            Markdown("met") if ok else Markdown("did not meet"), arm, ctl, what, level))
    return Markdown(" ").join(out)


def secondary_summary(rep) -> Markdown:
    """The repeated-measures summary of the secondary family ("" without such endpoints)."""
    decision = {e.id for e in decision_endpoints(rep.spec)}
    if not [e for e in rep.spec.endpoints_by(kind="repeated_continuous") if e.id not in decision]:
        return Markdown()
    return family_sentence(rep, "secondary", "mmrm_sentence") or Markdown()


def safety_summary(rep) -> Markdown:
    """The safety family's summary of related serious events ("" without that module)."""
    if "adverse_events" not in getattr(rep.trial, "modules", ()):
        return Markdown()
    return family_sentence(rep, "safety", "related_sae_sentence") or Markdown()


# ------------------------------------------------------------------ design and methods
def registrations(spec, placeholder_if_none: bool = True) -> Markdown:
    """``EudraCT 1; ClinicalTrials.gov 2`` style list, else a placeholder."""
    regs = spec.identity.registrations
    if not regs:
        return placeholder("registrations") if placeholder_if_none else Markdown()
    return Markdown("; ").join(Markdown("{} {}").format(r.registry, r.id) for r in regs)


def _nations(names, listed: bool = False) -> Markdown:
    """``France`` for one, ``4 countries`` (with their names when ``listed``) for more."""
    if len(names) == 1:
        return Markdown("{}").format(names[0])
    out = Markdown("{} countries").format(fmt_int(len(names)))
    return out + Markdown(" ({})").format(and_list(names)) if listed else out


def sites_sentence(spec) -> Markdown:
    """Where the trial was run, when centres or countries are declared."""
    idn = spec.identity
    nc, nk = len(idn.centres), len(idn.countries)
    if not nc and not nk:
        return Markdown()
    where = []
    if nc:
        where.append(Markdown("{} {}").format(fmt_int(nc), "centre" if nc == 1 else "centres"))
    if nk:
        where.append(_nations(idn.countries, listed=True))
    text = Markdown("It was run in ") + Markdown(" in ").join(where) + Markdown(".")
    if nc:
        text += Markdown(" Centres: {}.").format(and_list(idn.centres))
    return text


def allocation_sentence(rep) -> Markdown:
    """``Participants were randomised 1:1 to A or C.``"""
    ratio = rep.spec.identity.allocation_ratio
    arms = [Markdown("{}").format(a) for a in rep.trial.arms]
    return Markdown("Participants were randomised{} to {}.").format(
        Markdown(" {}").format(ratio) if ratio else Markdown(), and_list(arms, "or"))


def design_paragraph(rep) -> Markdown:
    """Design sentence, registrations, sites and allocation of the Methods chapter."""
    spec = rep.spec
    design = (spec.identity.design or "").strip()
    lead = Markdown("{}").format(design) if design else placeholder("design")
    text = Markdown("{} Registration: {}.").format(lead, registrations(spec))
    return Markdown(" ").join(s for s in (text, sites_sentence(spec), allocation_sentence(rep))
                              if s)


def arms_list(rep) -> Markdown:
    """One bullet per arm: label and declared name."""
    lines = []
    for label in rep.trial.arms:
        name = rep.arm_name(label)
        role = " (control)" if label == rep.trial.control_arm else ""
        lines.append(Markdown("- **{}**{}{}").format(
            label, role, Markdown(": {}").format(name) if name != label else Markdown()))
    return Markdown("\n").join(lines) + Markdown("\n")


def rule_text(spec, ep) -> Markdown:
    """The description of ``ep``'s responder rule ("" when it has none)."""
    rule = spec.rules.get(ep.rule) if ep.rule else None
    if rule is None or not rule.description:
        return Markdown()
    return Markdown("{}").format(rule.description.strip())


def _endpoint_item(rep, ep, seen_rules: set | None = None) -> Markdown:
    bits = []
    if ep.unit:
        bits.append(Markdown("unit {}").format(ep.unit))
    lo, hi = ep.range
    if lo is not None and hi is not None:
        bits.append(Markdown("range {} to {}").format(f"{lo:g}", f"{hi:g}"))
    if ep.direction:
        bits.append(Markdown("{}").format(ep.direction.replace("_", " ")))
    if ep.kind == "repeated_continuous":
        visits = [rep.visit_label(v, prose=True) for v in rep.spec.analysed_visits(ep)]
        bits.append(Markdown("analysed at ") + and_list(visits))
    elif ep.kind in ("single_visit_continuous", "binary_responder") and ep.visit is not None:
        when = rep.visit_label(ep.visit, prose=True)
        if not _mentions(ep.label, when):
            bits.append(Markdown("at {}").format(when))
    head = Markdown("- **{}** ({})").format(ep.label, ROLE_WORDS.get(ep.role, ep.role))
    desc = Markdown(" {}").format(ep.description.strip()) if ep.description else Markdown()
    rule = rule_text(rep.spec, ep)
    if rule and seen_rules is not None and ep.rule in seen_rules:
        rule = Markdown(" Responder rule as above.")
    elif rule:
        rule = Markdown(" Responder rule: {}").format(rule)
    if seen_rules is not None and ep.rule:
        seen_rules.add(ep.rule)
    details = Markdown("; ").join(bits)
    return head + (Markdown(": ") + details + Markdown(".") if bits else Markdown(".")) \
        + desc + rule


def outcomes_list(rep) -> Markdown:
    """One bullet per declared endpoint: role, unit, range, direction, visits, rule."""
    seen: set = set()
    return Markdown("\n").join(_endpoint_item(rep, ep, seen) for ep in rep.spec.endpoints) + \
        Markdown("\n")


def schedule_sentence(rep) -> Markdown:
    """``Patients were assessed at baseline and at month 1, month 3 ... (primary visit).``"""
    spec = rep.spec
    post = [rep.visit_label(v, prose=True) for v in spec.post_baseline_visits]
    return Markdown("Patients were assessed at {} and at {}; the primary visit was {}.").format(
        lower_first(rep.visit_label(spec.baseline_visit)), and_list(post),
        rep.visit_label(spec.primary_visit, prose=True))


def populations_list(rep) -> Markdown:
    """One bullet per declared analysis population (its ADSL flag and arm basis)."""
    lines = []
    for pop in rep.spec.populations.values():
        basis = "actual" if pop.arm == "actual" else "randomised"
        lines.append(Markdown("- **{}**: patients with {} = {}, analysed by {} arm.").format(
            pop.label, pop.flag, pop.value, basis))
    return Markdown("\n").join(lines) + Markdown("\n")


def covariates_sentence(rep) -> Markdown:
    """The adjustment and stratification covariates of the specification."""
    spec = rep.spec
    out = []
    if spec.adjustment:
        items = []
        for c in spec.adjustment:
            pool = (Markdown(" (levels with fewer than {} patients pooled)").format(
                fmt_int(c.pool_below)) if c.pool_below else Markdown())
            items.append(Markdown("{}").format(lower_first(c.label)) + pool)
        out.append(Markdown("Adjusted analyses included {} as covariates.").format(
            and_list(items)))
    else:
        out.append(Markdown("No covariates were declared for adjustment."))
    if spec.stratification:
        out.append(Markdown("Randomisation was stratified by {}.").format(
            and_list([lower_first(c.label) for c in spec.stratification])))
    return Markdown(" ").join(out)


# ------------------------------------------------------------------ abstract and objectives
def objective(rep) -> Markdown:
    """The trial's objective sentence (text ``objective``), else one built from the arms."""
    text = rep.text("objective", optional=True)
    if text:
        return Markdown(" ".join(text.split()))
    exp = and_list([rep.arm_name(a) for a in rep.trial.experimental_arms])
    return Markdown("To compare {} with {}.").format(exp, rep.arm_name(rep.trial.control_arm))


def _others(rep) -> list:
    decision = {e.id for e in decision_endpoints(rep.spec)}
    return [e for e in rep.spec.endpoints if e.id not in decision]


def _module_words(rep) -> list[str]:
    return [w for m in getattr(rep.trial, "modules", ()) if (w := MODULE_WORDS.get(m))]


def abstract_methods(rep) -> Markdown:
    """Design, sites, allocation, the decision endpoints and the other endpoints."""
    spec = rep.spec
    parts = [Markdown("{}").format((spec.identity.design or "").strip())]
    idn = spec.identity
    if idn.centres:
        nk = len(idn.countries)
        parts.append(Markdown("It was run in {} centres{}.").format(
            fmt_int(len(idn.centres)),
            Markdown(" in ") + _nations(idn.countries) if nk else Markdown()))
    elif idn.countries:
        parts.append(Markdown("It was run in {}.").format(and_list(idn.countries)))
    parts.append(allocation_sentence(rep))
    eps = decision_endpoints(spec)
    if eps:
        items = []
        for ep in eps:
            rule = rule_text(spec, ep)
            items.append(endpoint_phrase(rep, ep) + (Markdown(" ({})").format(
                Markdown(lower_first(rule.rstrip(".")))) if rule else Markdown()))
        word = "co-primary endpoints were" if len(eps) > 1 else "primary endpoint was"
        parts.append(Markdown("The {} {}.").format(Markdown(word), and_list(items)))
    others = [lower_first(e.label) for e in _others(rep)] + _module_words(rep)
    if others:
        parts.append(Markdown("Other endpoints were {}.").format(and_list(others)))
    return Markdown(" ").join(p for p in parts if p)


def randomised_sentence(rep) -> Markdown:
    """``A total of 114 patients were randomised, 58 to A and 56 to C.``"""
    where = dict(population="Randomised")
    total = _row(rep, "consort", "randomised", **where)
    per = [(a, _row(rep, "consort", "allocated", arm=a, **where)) for a in rep.trial.arms]
    if total is None or any(r is None for _, r in per):
        return Markdown()
    return Markdown("A total of {} patients were randomised, {}.").format(
        fmt_int(total["value"]), and_list([Markdown("{} to {}").format(fmt_int(r["value"]), a)
                                           for a, r in per]))


def abstract_results(rep) -> Markdown:
    """Randomised patients, the primary results, secondary and safety summaries."""
    return Markdown(" ").join(s for s in (randomised_sentence(rep), primary_results(rep),
                                          secondary_summary(rep), safety_summary(rep)) if s)


def objectives_list(rep) -> Markdown:
    """Bullets: each decision endpoint, then the other endpoints and modules by role."""
    spec = rep.spec
    lines = []
    eps = decision_endpoints(spec)
    head = "Co-primary" if len(eps) > 1 else "Primary"
    for ep in eps:
        rule = rule_text(spec, ep)
        lines.append(Markdown("- **{}:** to compare {} between the arms{}.").format(
            Markdown(head), endpoint_phrase(rep, ep),
            Markdown(" (responder rule: {})").format(Markdown(lower_first(rule.rstrip("."))))
            if rule else Markdown()))
    by_role: dict[str, list] = {}
    for ep in _others(rep):
        by_role.setdefault(ep.role, []).append(lower_first(ep.label))
    if _module_words(rep):
        by_role.setdefault("secondary", []).extend(_module_words(rep))
    for role in ("key_secondary", "secondary", "exploratory", "primary"):
        if by_role.get(role):
            lines.append(Markdown("- **{}:** {}.").format(
                Markdown(ROLE_WORDS[role].capitalize()), and_list(by_role[role])))
    return Markdown("\n").join(lines) + Markdown("\n")


def sample_size(rep) -> Markdown:
    """The planned sample size (when declared) and the trial's text ``sample_size``, else a
    placeholder for the assumptions behind it."""
    n = rep.spec.identity.planned_sample_size
    planned = (Markdown("The planned sample size was {} patients.").format(fmt_int(n)) if n
               else Markdown("The planned sample size was {}.").format(
                   placeholder("planned sample size")))
    text = rep.text("sample_size", optional=True)
    if text:
        return planned + Markdown(" ") + text
    return planned + Markdown(" The assumptions behind it (expected effect, power, type I "
                              "error) are {}.").format(placeholder("sample_size"))
