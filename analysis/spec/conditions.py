"""Whether an optional part of a document applies to a trial.

Chapters mark optional parts with a condition: a chapter's front matter ``when:`` mapping, or a
fenced div ``::: {.when module="adverse_events"}``. The attributes, all of which must hold:

``module``
    an optional module that is declared and whose dataset is present
    (:func:`analysis.spec.contract.active_modules`); ``"<module>.<key>"`` also needs that
    key of the module to be set (e.g. ``immunogenicity.association_endpoint``);
``kind`` and ``role``
    some endpoint has that analysis kind and that role; ``role`` may also be ``decision``
    (an endpoint of the decision rule) or ``nondecision``; either may be given alone;
``visit``
    ``"single"``: together with ``kind``/``role``, the endpoint is analysed at one visit (it
    declares ``visit``);
``arms``
    ``"3+"`` (three or more arms) or ``"2"`` (exactly two);
``synthetic``, ``decision``, ``mcid``
    ``"true"``/``"false"``: the data are synthetic; a decision rule is declared; some
    repeated continuous endpoint declares an MCID;
``by_visit``
    ``"true"``/``"false"``: some binary responder endpoint is analysed at every visit of a
    list (it has no single ``visit``);
``sensitivity``
    a sensitivity analysis (e.g. ``tipping_point``) that some endpoint declares (of the
    ``kind`` and ``role`` given alongside);
``not``
    a nested mapping that must *not* hold.

Examples
--------
>>> from types import SimpleNamespace as NS
>>> ep = NS(id="y", kind="repeated_continuous", role="primary", mcid=None)
>>> spec = NS(endpoints=(ep,), arms=(1, 2), decision=NS(endpoints=("y",)),
...           data=NS(synthetic=False), modules={})
>>> holds(spec, set(), {"kind": "repeated_continuous", "role": "decision"})
True
>>> holds(spec, set(), {"module": "adverse_events"}), holds(spec, set(), {"arms": "3+"})
(False, False)
>>> holds(spec, set(), {"not": {"arms": "3+"}})
True
>>> spec = NS(**{**vars(spec), "modules": {"disposition": {"reasons": []}}})
>>> [holds(spec, set(), {"module": m}) for m in ("disposition", "disposition.reasons")]
[True, False]
"""

from __future__ import annotations

KEYS = ("module", "kind", "role", "visit", "arms", "synthetic", "decision", "mcid", "by_visit",
        "sensitivity", "not")


def _true(value) -> bool:
    return str(value).strip().lower() in ("true", "yes", "1")


def _decision_ids(spec) -> tuple[str, ...]:
    return tuple(spec.decision.endpoints) if getattr(spec, "decision", None) else ()


def _endpoint_matches(spec, kind, role, visit=None) -> bool:
    ids = _decision_ids(spec)
    for ep in spec.endpoints:
        if kind and ep.kind != kind:
            continue
        if visit == "single" and getattr(ep, "visit", None) is None:
            continue
        if role == "decision" and ep.id not in ids:
            continue
        if role == "nondecision" and ep.id in ids:
            continue
        if role and role not in ("decision", "nondecision") and ep.role != role:
            continue
        return True
    return False


def holds(spec, available, attrs: dict, synthetic: bool | None = None) -> bool:
    """True when every condition in ``attrs`` holds for ``spec`` with the datasets
    ``available`` (lower-case dataset names). ``synthetic`` overrides the specification's
    ``data.synthetic`` (the data folder's ``dataset.yaml`` may say so). Unknown keys raise
    ``ValueError`` naming them."""
    unknown = sorted(set(attrs) - set(KEYS))
    if unknown:
        raise ValueError(f"unknown condition(s) {', '.join(unknown)}; known: {', '.join(KEYS)}")
    if "module" in attrs:
        from analysis.spec.contract import active_modules

        name, _, key = str(attrs["module"]).partition(".")
        if name not in active_modules(spec, available):
            return False
        if key and not (spec.modules.get(name) or {}).get(key):
            return False
    if ("kind" in attrs or "role" in attrs or "visit" in attrs) and not _endpoint_matches(
            spec, attrs.get("kind"), attrs.get("role"), attrs.get("visit")):
        return False
    if "arms" in attrs:
        n, want = len(spec.arms), str(attrs["arms"]).strip()
        if (want.endswith("+") and n < int(want[:-1])) or (
                not want.endswith("+") and n != int(want)):
            return False
    if "synthetic" in attrs:
        is_synth = spec.data.synthetic if synthetic is None else synthetic
        if bool(is_synth) != _true(attrs["synthetic"]):
            return False
    if "decision" in attrs and bool(_decision_ids(spec)) != _true(attrs["decision"]):
        return False
    if "mcid" in attrs:
        has = any(ep.kind == "repeated_continuous" and ep.mcid is not None
                  for ep in spec.endpoints)
        if has != _true(attrs["mcid"]):
            return False
    if "by_visit" in attrs:
        has = any(ep.kind == "binary_responder" and getattr(ep, "visit", None) is None
                  for ep in spec.endpoints)
        if has != _true(attrs["by_visit"]):
            return False
    if "sensitivity" in attrs and not _declares(spec, attrs["sensitivity"], attrs.get("kind"),
                                                attrs.get("role")):
        return False
    return not ("not" in attrs and holds(spec, available, attrs["not"], synthetic))


def _declares(spec, analysis: str, kind=None, role=None) -> bool:
    """Some endpoint (of ``kind`` and ``role`` when given) declares the sensitivity analysis
    ``analysis`` (e.g. ``tipping_point``)."""
    ids = _decision_ids(spec)
    for ep in spec.endpoints:
        if kind and ep.kind != kind:
            continue
        if role == "decision" and ep.id not in ids:
            continue
        if role == "nondecision" and ep.id in ids:
            continue
        if role and role not in ("decision", "nondecision") and ep.role != role:
            continue
        sens = getattr(ep, "sensitivity", None) or {}
        if sens.get(analysis) not in (None, False):
            return True
    return False
