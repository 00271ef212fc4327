"""The trial's decision rule applied to the primary analyses of its decision endpoints.

Run by :mod:`analysis.pipeline` after every other family (:data:`AFTER_FAMILIES`): it reads
their rows. ``spec.decision`` lists the endpoints, the rule (``all``, ``any`` or
``hierarchical``: a fixed sequence in the listed order), the level ``alpha`` and ``sided``.
Each endpoint's primary analysis supplies an effect and a two-sided p-value:

* ``binary_responder``: ``risk_difference`` and ``p_value`` of analysis ``primary`` (a
  positive difference, more responders, favours the experimental arm);
* ``single_visit_continuous``: ``mean_difference`` and ``p_value`` of analysis ``primary``;
* ``repeated_continuous``: the MMRM contrast at the primary visit (analysis ``mmrm``,
  statistic ``difference``, or ``mean_difference``, and ``p_value``).

For continuous endpoints the direction of benefit is the endpoint's ``direction``
(``lower_is_better``: a negative difference favours the experimental arm). An endpoint
succeeds when its effect favours the experimental arm and its p-value is below ``alpha``
(two-sided), or half of it is below ``alpha`` (one-sided). Rules: ``all``, every endpoint
succeeds; ``any``, at least one; ``hierarchical``, endpoints are tested in order, each at the
full ``alpha``, until the first failure (later ones are not tested and do not succeed); the
trial succeeds when the first endpoint does.

Results-store rows, endpoint :data:`DECISION`, visit = the primary visit: ``alpha`` (arm
"Overall"); per contrast ``"<arm> vs <control>"``: ``success`` (1/0) with ``group`` = each
endpoint id and ``""`` (overall); for a hierarchical rule also ``tested`` (1/0) per endpoint.
"""

from __future__ import annotations

import math

from analysis.displays.formatting import fmt_ci, fmt_num, fmt_p
from analysis.escape import Markdown
from analysis.results import ResultNotFound, ResultsStore, contrast, result_row

DECISION = "coprimary_decision"
#: Run after the other families, with the store they filled (see analysis.pipeline).
AFTER_FAMILIES = True
RULE_WORDS = {"all": "all", "any": "at least one", "hierarchical": "a fixed sequence"}


def _store(rows_or_store) -> ResultsStore:
    if isinstance(rows_or_store, ResultsStore):
        return rows_or_store
    return ResultsStore.empty().add(list(rows_or_store))


def primary_effect(store, spec, endpoint_id: str, arm_label: str) -> dict:
    """``{"estimate", "lower", "upper", "p_value", "statistic"}`` of an endpoint's primary
    analysis for one contrast (NaN where the store has no such row)."""
    ep = spec.endpoint(endpoint_id)
    if ep.kind == "repeated_continuous":
        where = dict(analysis="mmrm", visit=str(spec.primary_visit), arm=arm_label)
        stats = ("difference", "mean_difference")
    elif ep.kind == "single_visit_continuous":
        where = dict(analysis="primary", visit=str(ep.visit), arm=arm_label)
        stats = ("mean_difference",)
    else:
        where = dict(analysis="primary", visit=str(ep.visit), arm=arm_label)
        stats = ("risk_difference",)
    out = {"estimate": math.nan, "lower": math.nan, "upper": math.nan, "p_value": math.nan,
           "statistic": stats[0]}
    for stat in stats:
        try:
            r = store.get(ep.id, stat, **where)
        except ResultNotFound:
            continue
        out.update(estimate=float(r["value"]), lower=float(r["lower"]),
                   upper=float(r["upper"]), statistic=stat)
        break
    try:
        out["p_value"] = store.value(ep.id, "p_value", **where)
    except ResultNotFound:
        pass
    return out


def favours_experimental(ep, estimate: float) -> bool:
    """Whether a difference (experimental minus control) is in the direction of benefit."""
    if ep.kind == "binary_responder":
        return estimate > 0
    return ep.sign * estimate > 0


def significant(p: float, sided: str, level: float) -> bool:
    """Two-sided p below ``level``, or (one-sided, effect in favour) p / 2 below it."""
    if not p == p:  # NaN
        return False
    return (p / 2 if sided == "one" else p) < level


def evaluate(store, spec, arm_label: str) -> dict:
    """``{"success": {endpoint: bool}, "tested": {endpoint: bool}, "overall": bool}`` of
    one contrast."""
    dec = spec.decision
    success, tested = {}, {}
    go = True
    for eid in dec.endpoints:
        ep = spec.endpoint(eid)
        tested[eid] = go
        e = primary_effect(store, spec, eid, arm_label)
        ok = (favours_experimental(ep, e["estimate"])
              and significant(e["p_value"], dec.sided, dec.alpha))
        success[eid] = bool(ok and go)
        if dec.rule == "hierarchical" and not ok:
            go = False
    vals = list(success.values())
    if dec.rule == "any":
        overall = any(vals)
    elif dec.rule == "hierarchical":
        overall = bool(vals) and vals[0]
    else:
        overall = bool(vals) and all(vals)
    return {"success": success, "tested": tested, "overall": overall}


def compute(trial, store) -> list[dict]:
    """The decision rows (see the module docstring); none without a decision rule."""
    spec = trial.spec
    if spec is None or spec.decision is None:
        return []
    store = _store(store)
    dec, visit = spec.decision, spec.primary_visit
    rows = [result_row(DECISION, "alpha", dec.alpha, visit=visit)]
    for a in trial.experimental_arms:
        c = contrast(a, trial.control_arm)
        res = evaluate(store, spec, c)
        for eid in dec.endpoints:
            rows.append(result_row(DECISION, "success", float(res["success"][eid]), arm=c,
                                   group=eid, visit=visit))
            if dec.rule == "hierarchical":
                rows.append(result_row(DECISION, "tested", float(res["tested"][eid]), arm=c,
                                       group=eid, visit=visit))
        rows.append(result_row(DECISION, "success", float(res["overall"]), arm=c, group="",
                               visit=visit))
    return rows


# ---------------------------------------------------------------- prose
def p_text(p: float) -> str:
    """``'p = 0.77'`` or ``'p < 0.001'`` for prose."""
    f = fmt_p(p)
    return f"p {f[0]} {f[1:]}" if f.startswith("<") else f"p = {f}"


def _unit(ep, statistic: str) -> str:
    if statistic == "risk_difference":
        return " percentage points"
    u = ep.unit
    if not u:
        return ""
    return " " + {"%": "percentage points", "score": "points"}.get(u, u)


def _effect_name(ep, statistic: str) -> str:
    if statistic == "risk_difference":
        return "risk difference"
    if ep.kind == "repeated_continuous":
        return "MMRM difference in mean change"
    return "adjusted difference"


def _current_spec():
    from analysis.spec.locate import current_spec

    return current_spec()


def decision_sentence(store, arm: str, control: str, spec=None) -> Markdown:
    """The conclusion of the decision rule for one experimental arm, from the store (numbers)
    and the specification (rule, endpoints, labels, units)."""
    spec = spec or _current_spec()
    dec = spec.decision
    if dec is None:
        return Markdown()
    c = contrast(arm, control)
    level = fmt_num(store.value(DECISION, "alpha"), 2)
    k = len(dec.endpoints)
    overall = store.value(DECISION, "success", arm=c, group="") == 1
    parts = []
    for eid in dec.endpoints:
        ep = spec.endpoint(eid)
        e = primary_effect(store, spec, eid, c)
        ok = store.value(DECISION, "success", arm=c, group=eid) == 1
        try:
            tested = store.value(DECISION, "tested", arm=c, group=eid) == 1
        except ResultNotFound:
            tested = True
        verdict = "meeting its criterion" if ok else (
            "not meeting its criterion" if tested else "not tested (an earlier endpoint failed)")
        parts.append(Markdown("{}: {} {}{} (95% CI {}; {}), {}").format(
            ep.short_label or ep.label, _effect_name(ep, e["statistic"]),
            fmt_num(e["estimate"]), _unit(ep, e["statistic"]),
            fmt_ci(e["lower"], e["upper"]), p_text(e["p_value"]), verdict))
    sided = "one-sided" if dec.sided == "one" else "two-sided"
    if dec.rule == "hierarchical":
        need = Markdown("superiority of {} over {} tested in a fixed sequence, each at a {} {} "
                        "level until the first failure").format(arm, control, sided, level)
    elif k == 1:
        need = Markdown("superiority of {} over {} at a {} {} level").format(
            arm, control, sided, level)
    else:
        which = "both" if (k == 2 and dec.rule == "all") else RULE_WORDS[dec.rule]
        need = Markdown("superiority of {} over {} on {} endpoints, each at a {} {} "
                        "level").format(arm, control, which, sided, level)
    co = "co-primary " if dec.rule == "all" and k > 1 else ""
    if overall:
        head = Markdown("The trial met its {}success criterion").format(co)
        if dec.rule == "all" and k == 2:
            head = Markdown("Both co-primary endpoints met the success criterion")
    else:
        head = Markdown("The trial did not meet its {}success criterion").format(co)
    return head + Markdown(" (") + need + Markdown("): ") + Markdown("; ").join(parts) \
        + Markdown(".")


def rule_text(spec, arm: str | None = None, control: str | None = None) -> Markdown:
    """The decision rule in words, from the specification (endpoints, rule, level, sides)."""
    dec = spec.decision
    if dec is None:
        return Markdown()
    arm = arm or "the experimental arm"
    control = control or "the control arm"
    labels = [spec.endpoint(e).label for e in dec.endpoints]
    names = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    sided = "one-sided" if dec.sided == "one" else "two-sided"
    level = fmt_num(dec.alpha, 2)
    if dec.rule == "hierarchical":
        how = Markdown("The endpoints {} were tested in this fixed sequence, each at a {} level "
                       "of {} in its primary analysis, until the first that failed; the trial "
                       "would be declared positive when the first showed superiority of {} "
                       "over {} with an effect in its favour, and each later endpoint only "
                       "when all before it had succeeded.").format(
            names, sided, level, arm, control)
    elif len(labels) == 1:
        how = Markdown("The trial would be declared positive if {} showed superiority of {} "
                       "over {} in its primary analysis, at a {} level of {} with an effect in "
                       "favour of {}.").format(names, arm, control, sided, level, arm)
    else:
        which = "all" if dec.rule == "all" else "at least one"
        how = Markdown("The trial would be declared positive if {} of the endpoints {} showed "
                       "superiority of {} over {} in their primary analysis, each at a {} "
                       "level of {} with an effect in favour of {}.").format(
            which, names, arm, control, sided, level, arm)
    if dec.multiplicity:
        how += Markdown(" ") + dec.multiplicity
    return how


def decision_text(store, arms, control, spec=None) -> Markdown:
    """:func:`decision_sentence` for every experimental arm, one paragraph each."""
    spec = spec or _current_spec()
    return Markdown("\n\n").join(decision_sentence(store, a, control, spec)
                                 for a in arms if a != control)
