"""Independent hand-coded RESPINE responder rule: the reference the spec rules are tested against.

Responder (co-primary clinical endpoint), with improvement = baseline minus value:

* VAS component: improvement >= 20 % of baseline AND improvement >= 20 mm;
* ODI component: improvement >= 20 % of baseline;
* responder = VAS component OR ODI component.

Missing values follow three-valued (Kleene) logic: a component with a missing baseline
or follow-up value is not evaluable (NaN); ``True OR NaN`` is a responder, ``False OR NaN``
is not evaluable. A relative improvement needs a baseline above 0 (a baseline of 0 cannot
improve), and comparisons allow a 1e-9 tolerance so that exactly 20 % counts despite
floating-point rounding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

REL_THRESHOLD = 0.20  # relative improvement (fraction of baseline), VAS and ODI
VAS_ABS_THRESHOLD = 20.0  # absolute VAS improvement, mm
_TOL = 1e-9


def _arr(x) -> np.ndarray:
    """Values as a float array (at least 1-d); None and non-numbers become NaN."""
    flat = np.ravel(np.asarray(x, dtype=object))
    return np.asarray(pd.to_numeric(pd.Series(flat), errors="coerce"), dtype=float)


def _rel_ok(base: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Relative improvement >= 20 % of a positive baseline (NaN where not evaluable)."""
    impr = base - value
    ok = (impr >= REL_THRESHOLD * base - _TOL) & (base > 0) & (impr > 0)
    out = ok.astype(float)
    out[np.isnan(base) | np.isnan(value)] = np.nan
    return out


def vas_component(base_vas, vas) -> np.ndarray:
    """VAS criterion: improvement >= 20 % of baseline and >= 20 mm; 1.0/0.0/NaN."""
    base, val = _arr(base_vas), _arr(vas)
    rel = _rel_ok(base, val)
    absolute = (base - val) >= VAS_ABS_THRESHOLD - _TOL
    out = np.where(np.isnan(rel), np.nan, (rel == 1.0) & absolute).astype(float)
    return out


def odi_component(base_odi, odi) -> np.ndarray:
    """ODI criterion: improvement >= 20 % of baseline; 1.0/0.0/NaN."""
    return _rel_ok(_arr(base_odi), _arr(odi))


def _kleene_or(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.full(np.broadcast(a, b).shape, np.nan)
    out[(a == 1.0) | (b == 1.0)] = 1.0
    out[(a == 0.0) & (b == 0.0)] = 0.0
    return out


def responder(base_vas, vas, base_odi, odi) -> np.ndarray:
    """The published responder rule, vectorised; returns 1.0, 0.0 or NaN (not evaluable).

    Examples
    --------
    >>> responder([60, 60, 60], [40, 45, None], [40, 40, 40], [40, 40, 30]).tolist()
    [1.0, 0.0, 1.0]
    """
    return _kleene_or(vas_component(base_vas, vas), odi_component(base_odi, odi))


def derive_responders(adqs: pd.DataFrame, visit: int = 12, subjects=None) -> pd.DataFrame:
    """One row per subject with the VAS and ODI components and the responder status at ``visit``.

    Baselines are the ``AVISITN == 0`` values of VAS and ODI (``AVAL``). Without ``subjects``
    the rows are the subjects with any VAS/ODI baseline record in ``adqs``; with it (e.g.
    ``trial.adsl.USUBJID``) exactly those subjects, in that order.

    Returns columns ``USUBJID, BASE_VAS, VAS, BASE_ODI, ODI, VAS_RESP, ODI_RESP, RESPONDER,
    EVALFL`` where the three response columns are 1.0/0.0/NaN and ``EVALFL`` is "Y" when
    ``RESPONDER`` is not missing.
    """
    q = adqs[adqs["PARAMCD"].isin(["VAS", "ODI"])]
    base = q[q["AVISITN"] == 0].pivot_table(index="USUBJID", columns="PARAMCD", values="AVAL",
                                             aggfunc="first")
    fu = q[q["AVISITN"] == visit].pivot_table(index="USUBJID", columns="PARAMCD", values="AVAL",
                                               aggfunc="first")
    ids = pd.Index(base.index if subjects is None else list(subjects), name="USUBJID")
    base = base.reindex(index=ids, columns=["VAS", "ODI"])
    fu = fu.reindex(index=ids, columns=["VAS", "ODI"])
    out = pd.DataFrame({
        "USUBJID": ids.astype(str),
        "BASE_VAS": base["VAS"].to_numpy(float),
        "VAS": fu["VAS"].to_numpy(float),
        "BASE_ODI": base["ODI"].to_numpy(float),
        "ODI": fu["ODI"].to_numpy(float),
    })
    out["VAS_RESP"] = vas_component(out["BASE_VAS"], out["VAS"])
    out["ODI_RESP"] = odi_component(out["BASE_ODI"], out["ODI"])
    out["RESPONDER"] = _kleene_or(out["VAS_RESP"].to_numpy(), out["ODI_RESP"].to_numpy())
    out["EVALFL"] = np.where(out["RESPONDER"].isna(), "N", "Y")
    return out.reset_index(drop=True)
