"""Responder rules of a specification evaluated on BDS data: per-subject responder flags.

A criterion tests one endpoint's improvement from baseline at a visit: improvement =
baseline minus value when lower is better, value minus baseline when higher is better; the
baseline is ``AVAL`` at the specification's baseline visit. ``absolute`` needs an improvement
of at least that many units; ``percent`` an improvement of at least that percentage of a
baseline above 0 (a baseline of 0 cannot improve relatively), and a strictly positive
improvement. Comparisons allow a 1e-9 tolerance so that a threshold met exactly counts
despite floating-point rounding.

Missing values follow three-valued (Kleene) logic: a criterion with a missing baseline or
follow-up value is not evaluable (NaN); ``any`` is 1 when one term is 1, 0 when every term
is 0, else NaN; ``all`` is 0 when one term is 0, 1 when every term is 1, else NaN.

The evaluator is written here (not taken from a library) because the rule is data of the
specification; it is tested against the project's hand-coded derivation.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analysis.spec.model import Combination, Criterion, ResponderRule, TrialSpec

TOL = 1e-9


def _wide(spec: TrialSpec, frames: Mapping[str, pd.DataFrame], endpoint_id: str) -> pd.DataFrame:
    """Subjects x visits of ``AVAL`` for one endpoint (first value per subject and visit)."""
    ep = spec.endpoint(endpoint_id)
    subj = spec.data.subject_column
    df = frames[ep.dataset]
    d = df[df["PARAMCD"] == ep.paramcd]
    aval = pd.to_numeric(d["AVAL"], errors="coerce")
    d = d.assign(AVAL=aval, AVISITN=pd.to_numeric(d["AVISITN"], errors="coerce"))
    return d.pivot_table(index=subj, columns="AVISITN", values="AVAL", aggfunc="first")


def criterion_values(crit: Criterion, spec: TrialSpec, base: np.ndarray,
                     value: np.ndarray) -> np.ndarray:
    """1.0 / 0.0 / NaN for each subject: does the improvement reach every threshold?"""
    sign = spec.endpoint(crit.endpoint).sign
    impr = sign * (value - base)
    with np.errstate(invalid="ignore"):
        ok = np.ones(len(base), dtype=bool)
        if crit.percent is not None:
            ok &= (impr >= crit.percent / 100 * base - TOL) & (base > 0) & (impr > 0)
        if crit.absolute is not None:
            ok &= impr >= crit.absolute - TOL
    out = ok.astype(float)
    out[np.isnan(base) | np.isnan(value)] = np.nan
    return out


def combine(op: str, terms: list[np.ndarray]) -> np.ndarray:
    """Kleene ``all``/``any`` of 1.0/0.0/NaN arrays."""
    t = np.vstack(terms)
    out = np.full(t.shape[1], np.nan)
    if op == "any":
        out[(t == 0.0).all(axis=0)] = 0.0
        out[(t == 1.0).any(axis=0)] = 1.0
    else:
        out[(t == 1.0).all(axis=0)] = 1.0
        out[(t == 0.0).any(axis=0)] = 0.0
    return out


def _evaluate(node, spec, wides, ids, visit) -> np.ndarray:
    if isinstance(node, Criterion):
        w = wides[node.endpoint]
        col = lambda v: (w[v].reindex(ids).to_numpy(float) if v in w.columns  # noqa: E731
                         else np.full(len(ids), np.nan))
        return criterion_values(node, spec, col(spec.baseline_visit), col(visit))
    assert isinstance(node, Combination)
    return combine(node.op, [_evaluate(t, spec, wides, ids, visit) for t in node.terms])


def _subjects(spec, wides) -> pd.Index:
    """Subjects with a baseline value of any endpoint of the rule, sorted."""
    ids: set = set()
    for w in wides.values():
        if spec.baseline_visit in w.columns:
            ids |= set(w.index[w[spec.baseline_visit].notna()])
    return pd.Index(sorted(ids))


def evaluate(rule: ResponderRule | str, spec: TrialSpec, frames: Mapping[str, pd.DataFrame],
             visit: int, subjects=None) -> pd.DataFrame:
    """One row per subject: the subject column, ``RESPONDER`` (1.0/0.0/NaN) and ``EVALFL``.

    Parameters
    ----------
    rule : ResponderRule or str
        The rule or its id in ``spec.rules``.
    frames : mapping
        Dataset name -> BDS frame (``PARAMCD``, ``AVISITN``, ``AVAL`` and the subject column).
    visit : int
        AVISITN at which the rule is evaluated.
    subjects : sequence, optional
        Exactly these subjects, in this order (default: those with a baseline value of an
        endpoint of the rule, sorted).
    """
    rule = spec.rules[rule] if isinstance(rule, str) else rule
    wides = {e: _wide(spec, frames, e) for e in rule.endpoints}
    ids = _subjects(spec, wides) if subjects is None else pd.Index(list(subjects))
    resp = _evaluate(rule.condition, spec, wides, ids, visit)
    return pd.DataFrame({spec.data.subject_column: ids.astype(str), "RESPONDER": resp,
                         "EVALFL": np.where(np.isnan(resp), "N", "Y")})


def evaluate_values(rule: ResponderRule | str, spec: TrialSpec,
                    values: Mapping[str, pd.DataFrame], visit: int) -> np.ndarray:
    """The rule on given values rather than BDS data (e.g. a completed imputed dataset).

    ``values`` maps every endpoint id of the rule to a frame of subjects x AVISITN (``AVAL``
    at least at the baseline visit and at ``visit``); all frames share one index, the order
    of the returned 1.0/0.0/NaN array.
    """
    rule = spec.rules[rule] if isinstance(rule, str) else rule
    ids = next(iter(values.values())).index
    return _evaluate(rule.condition, spec, values, ids, visit)


def first_success(rule: ResponderRule | str, spec: TrialSpec,
                  frames: Mapping[str, pd.DataFrame], subjects, visits=None, *,
                  missed_visit: str = "censor") -> pd.DataFrame:
    """Time to the first post-baseline visit meeting the rule (a derived time to event).

    A visit counts as attended when the rule is evaluable there. Follow-up runs over the
    scheduled post-baseline ``visits`` in order and ends at the first success (``event`` 1)
    or, with ``missed_visit="censor"``, at the first visit not attended (censored at the last
    attended visit before it; a subject who missed the first visit has no follow-up and is
    left out); with ``"skip"`` missed visits are passed over. One row per subject followed:
    the subject column, ``time`` (the visit's time in the schedule's unit), ``event`` and
    ``n_assessed`` (visits followed).
    """
    rule = spec.rules[rule] if isinstance(rule, str) else rule
    subj = spec.data.subject_column
    visits = spec.post_baseline_visits if visits is None else tuple(visits)
    ids = list(subjects)
    per_visit = {v: evaluate(rule, spec, frames, v, ids)["RESPONDER"].to_numpy() for v in visits}
    rows = []
    for i, sid in enumerate(ids):
        followed, event = [], 0
        for v in visits:
            r = per_visit[v][i]
            if np.isnan(r):
                if missed_visit == "censor":
                    break
                continue
            followed.append(v)
            if r == 1.0:
                event = 1
                break
        if followed:
            rows.append((str(sid), spec.visit(followed[-1]).time, event, len(followed)))
    return pd.DataFrame(rows, columns=[subj, "time", "event", "n_assessed"])
