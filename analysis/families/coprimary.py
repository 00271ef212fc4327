"""Single-visit endpoints (family module): binary responders and continuous values at one visit.

Applies the trial specification (``trial.spec``, :class:`analysis.spec.model.TrialSpec`):

* every endpoint of kind ``binary_responder`` with a single ``visit`` (any role): responder
  status by the endpoint's rule (:func:`analysis.spec.rules.evaluate`) in the endpoint's
  population; the primary analysis (observed cases) always, sensitivity analyses only as the
  endpoint's ``sensitivity`` declares them;
* every endpoint of kind ``single_visit_continuous``: descriptive statistics and an ANCOVA
  (value at the visit ~ arm + baseline + the adjustment covariates).

Every experimental arm is compared with the control arm. The decision rule is applied
afterwards by :mod:`analysis.families.decision`, which reads these rows.

Results-store rows of a binary endpoint (endpoint = its id, visit = its visit; proportions as
percent 0-100, risk differences in percentage points):

- per arm, analyses ``primary`` (observed cases), ``nri`` (missing = non-responder), ``pp``
  (per-protocol population, observed cases): ``n_responders`` (n = N), ``N``, ``n_missing``,
  ``percent`` (Wilson limits); ``mi``: ``percent`` (Rubin limits);
- contrast ``"<arm> vs <control>"``: ``risk_difference`` (Newcombe hybrid score limits for
  primary/nri/pp; Rubin for ``mi``; average marginal effect for ``adjusted``; credible
  interval for ``bayes``), ``risk_ratio``, ``odds_ratio`` (log/logit limits), ``p_value``
  (Yates chi-square; Wald for ``mi``/``adjusted``), ``p_value_fisher``, ``chi_square``;
  ``adjusted``: ``n_strata`` and (arm "Overall") ``min_stratum``; ``bayes``: ``prob_better``
  (P(RD > 0)), ``posterior_mean``, with ``prior_a``/``prior_b`` (arm "Overall"); ``mi``:
  ``n_imputations``, ``fmi``; ``tipping_point``: ``risk_difference`` and ``p_value`` per
  ``group="p_exp=<rate>;p_ctl=<rate>"`` (assumed response rates among the missing) and
  ``n_significant`` (grid points with p < alpha, group ``"favours_exp"``/``"favours_ctl"``).

Rows of a single-visit continuous endpoint: analysis ``descriptive`` per arm: baseline visit
and the endpoint's visit ``n``/``mean``/``sd``; at the visit ``group="change"``:
``n``/``mean`` (t limits)/``sd``; analysis ``primary`` (ANCOVA, complete cases):
``adjusted_mean`` per arm and ``mean_difference``/``p_value``/``residual_sd`` per contrast.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.displays.coprimary_plots import ANALYSES, tipping_grid
from analysis.displays.formatting import fmt_ci, fmt_int, fmt_num, fmt_p
from analysis.escape import Markdown
from analysis.families.decision import decision_sentence
from analysis.results import ResultNotFound, contrast, result_row
from analysis.spec.rules import evaluate, evaluate_values
from analysis.stats.ancova import ancova
from analysis.stats.bayes import DEFAULT_PRIOR, rd_posterior
from analysis.stats.binary import (
    chisq_yates,
    fisher_exact,
    newcombe_rd_ci,
    odds_ratio,
    risk_ratio,
    wilson_ci,
)
from analysis.stats.imputation import mice_pmm, rubin_pool

#: Significance level when the specification declares no decision rule.
DEFAULT_ALPHA = 0.05
#: Multiple-imputation settings the specification may leave out.
MI_DEFAULTS = {"imputations": 50, "iterations": 10, "donors": 5, "seed": 2024}
OTHER = "Other levels"
#: Results-store population labels of the specification's population ids.
POPULATION_CODES = {"itt": "ITT", "per_protocol": "PP", "safety": "SAF", "efficacy": "EFF"}

BINARY = "binary_responder"
CONTINUOUS = "single_visit_continuous"

__all__ = ["ANALYSES", "contrast", "decision_sentence", "tipping_grid"]


# ---------------------------------------------------------------- the specification
def binary_endpoints(spec, role: str | None = None) -> tuple:
    """Binary responder endpoints at a single visit; ``role`` ``"decision"`` /
    ``"nondecision"`` keeps those in / not in the decision rule."""
    return _filter(spec, [e for e in spec.endpoints if e.kind == BINARY and e.visit is not None],
                   role)


def continuous_endpoints(spec, role: str | None = None) -> tuple:
    """Single-visit continuous endpoints (``role`` as in :func:`binary_endpoints`)."""
    return _filter(spec, [e for e in spec.endpoints if e.kind == CONTINUOUS], role)


def _filter(spec, eps, role):
    ids = decision_ids(spec)
    if role == "decision":
        eps = sorted((e for e in eps if e.id in ids), key=lambda e: ids.index(e.id))
    elif role == "nondecision":
        eps = [e for e in eps if e.id not in ids]
    return tuple(eps)


def decision_ids(spec) -> tuple[str, ...]:
    return tuple(spec.decision.endpoints) if spec.decision is not None else ()


def _endpoint(spec, endpoint):
    return spec.endpoint(endpoint) if isinstance(endpoint, str) else endpoint


def alpha(spec) -> float:
    """The decision rule's significance level (:data:`DEFAULT_ALPHA` without a rule)."""
    return spec.decision.alpha if spec.decision is not None else DEFAULT_ALPHA


def population_code(pop_id: str) -> str:
    """The results-store label of a specification population (``itt`` -> ``ITT``)."""
    return POPULATION_CODES.get(pop_id, pop_id.upper())


#: Names of the usual population ids when the specification gives no label.
POPULATION_NAMES = {"itt": "Intention-to-treat population", "per_protocol":
                    "Per-protocol population", "safety": "Safety population",
                    "efficacy": "Efficacy population"}


def population_label(spec, pop_id: str) -> str:
    """The population's label from the specification (a generic name when it has none)."""
    pop = spec.populations.get(pop_id)
    label = pop.label if pop is not None else None
    if not label or label == pop_id:
        return POPULATION_NAMES.get(pop_id, f"{pop_id} population")
    return label


def visit_label(spec, avisitn) -> str:
    """The schedule's label of a visit (the number itself when not scheduled)."""
    try:
        return spec.visit(int(avisitn)).label
    except StopIteration:
        return str(avisitn)


def lower_first(text: str) -> str:
    """Lower-case the first letter unless the first word is an acronym (``"BDI score"``)."""
    word = text.split(" ", 1)[0]
    if len(word) > 1 and (word[1].isupper() or any(c.isdigit() for c in word)):
        return text
    return text[:1].lower() + text[1:]


def adjusted_label(spec) -> str:
    """``"Adjusted for <covariates>"`` from the specification's adjustment covariates."""
    labels = [lower_first(c.label or c.column) for c in spec.adjustment]
    if not labels:
        return ANALYSES["adjusted"]
    return "Adjusted for " + (labels[0] if len(labels) == 1
                              else ", ".join(labels[:-1]) + " and " + labels[-1])


def analysis_labels(spec) -> dict[str, str]:
    """:data:`ANALYSES` with the adjusted analysis named after its covariates."""
    return {**ANALYSES, "adjusted": adjusted_label(spec)}


def unit_text(endpoint) -> str:
    """The unit of a difference of the endpoint, for prose and headers (``""`` if none)."""
    u = endpoint.unit
    if not u:
        return ""
    return {"%": "percentage points", "score": "points"}.get(u, u)


# ---------------------------------------------------------------- data
def _spec(trial):
    spec = getattr(trial, "spec", None)
    if spec is None:
        raise ValueError("the trial has no specification (trial.spec)")
    return spec


def population(trial, pop_id: str = "itt") -> pd.DataFrame:
    """ADSL rows of a population of the specification, with ``ARM`` = its analysis arm
    (randomised or actual) among ``trial.arms``."""
    spec = _spec(trial)
    p = spec.populations[pop_id]
    col = spec.data.actual_arm_column if p.arm == "actual" else spec.data.arm_column
    adsl = trial.dataset("adsl") if hasattr(trial, "dataset") else trial.adsl
    d = adsl.loc[(adsl[p.flag].astype(str) == p.value) & adsl[col].isin(trial.arms)].copy()
    d["ARM"] = d[col].astype(str)
    return d.reset_index(drop=True)


def _covariate_columns(spec) -> list[str]:
    return [c.column for c in spec.adjustment]


def _frames(trial, endpoint_ids) -> dict[str, pd.DataFrame]:
    spec = _spec(trial)
    out = {}
    for eid in endpoint_ids:
        ds = spec.endpoint(eid).dataset
        out[ds] = trial.dataset(ds) if hasattr(trial, "dataset") else getattr(trial, ds)
    return out


def responder_data(trial, endpoint, pop_id: str | None = None) -> pd.DataFrame:
    """One row per patient of the population (default: the endpoint's): subject, ``ARM``,
    the adjustment covariates, ``RESPONDER`` (1.0/0.0/NaN) and ``EVALFL`` at the visit."""
    spec = _spec(trial)
    ep = _endpoint(spec, endpoint)
    d = population(trial, pop_id or ep.population)
    subj = spec.data.subject_column
    rule = spec.rules[ep.rule]
    r = evaluate(rule, spec, _frames(trial, rule.endpoints), visit=ep.visit, subjects=d[subj])
    keep = [subj, "ARM", *(c for c in _covariate_columns(spec) if c in d.columns)]
    return pd.concat([d[keep], r.drop(columns=subj)], axis=1)


def _counts(d: pd.DataFrame, arms, nri: bool = False) -> dict:
    """arm -> (responders, denominator, missing)."""
    out = {}
    for a in arms:
        g = d[d["ARM"] == a]
        x = int((g["RESPONDER"] == 1).sum())
        n_eval = int(g["RESPONDER"].notna().sum())
        out[a] = (x, len(g) if nri else n_eval, len(g) - n_eval)
    return out


# ---------------------------------------------------------------- responder analyses
def _binary_rows(ep, analysis: str, pop: str, counts: dict, trial) -> list[dict]:
    rows = []
    ctl = trial.control_arm

    def row(stat, value, **kw):
        kw.setdefault("population", pop)
        rows.append(result_row(ep.id, stat, value, analysis=analysis, visit=ep.visit, **kw))

    for a in trial.arms:
        x, n, miss = counts[a]
        row("n_responders", x, arm=a, n=n)
        row("N", n, arm=a, n=n)
        row("n_missing", miss, arm=a, n=n)
        lo, hi = wilson_ci(x, n) if n else (math.nan, math.nan)
        row("percent", 100 * x / n if n else math.nan, arm=a, lower=100 * lo, upper=100 * hi,
            n=n)
    for a in trial.experimental_arms:
        (x1, n1, _), (x2, n2, _) = counts[a], counts[ctl]
        if not (n1 and n2):
            continue
        c = contrast(a, ctl)
        n = n1 + n2
        rd, lo, hi = newcombe_rd_ci(x1, n1, x2, n2)
        row("risk_difference", 100 * rd, arm=c, lower=100 * lo, upper=100 * hi, n=n)
        rr = risk_ratio(x1, n1, x2, n2)
        row("risk_ratio", rr[0], arm=c, lower=rr[1], upper=rr[2], n=n)
        o = odds_ratio(x1, n1, x2, n2)
        row("odds_ratio", o[0], arm=c, lower=o[1], upper=o[2], n=n)
        row("chi_square", chisq_yates(x1, n1, x2, n2)[0], arm=c, n=n)
        row("p_value", chisq_yates(x1, n1, x2, n2)[1], arm=c, n=n)
        row("p_value_fisher", fisher_exact(x1, n1, x2, n2)[1], arm=c, n=n)
    return rows


def pool_strata(levels: pd.Series, y: pd.Series, min_size: int | None = None) -> pd.Series:
    """Stratum labels for a logistic model: levels with fewer than ``min_size`` patients, or
    whose outcome does not vary (all or no responders, which would make the model's estimate
    infinite), are pooled into :data:`OTHER`. If the pooled stratum itself is too small or
    without variation, it is merged into the largest stratum.
    """
    min_size = min_size or 0
    lev = levels.astype(str).copy()
    size = lev.map(lev.value_counts())
    varies = y.groupby(lev).transform(lambda v: v.nunique() > 1)
    lev[(size < min_size) | ~varies] = OTHER
    other = lev == OTHER
    if other.any() and (other.sum() < min_size or y[other].nunique() < 2):
        rest = lev[~other]
        if len(rest):
            lev[other] = rest.value_counts().sort_index().idxmax()
    return lev


def logistic_adjusted(d: pd.DataFrame, arm: str, control: str, covariates=(),
                      level: float = 0.95) -> dict:
    """Logistic regression of response on arm and ``covariates`` (evaluable patients).

    ``covariates`` are :class:`analysis.spec.model.Covariate` objects (``column``, ``type``
    categorical or continuous, ``pool_below``). The levels of each categorical covariate are
    first pooled by :func:`pool_strata` (below its ``pool_below``). Returns the adjusted odds
    ratio (Wald limits, p) and the covariate-adjusted risk difference: the average over
    patients of the predicted probability with everyone in ``arm`` minus everyone in
    ``control`` (g-computation), delta-method limits; ``n_strata`` (levels of the categorical
    covariates after pooling, summed) and ``converged``.
    """
    import warnings

    import statsmodels.api as sm
    from scipy import stats

    cols = [c.column for c in covariates]
    e = d[d["RESPONDER"].notna() & d["ARM"].isin([arm, control])].dropna(subset=cols)
    y = e["RESPONDER"].to_numpy(float)
    X_cols = [np.ones(len(e)), (e["ARM"] == arm).to_numpy(float)]
    n_strata = 0
    for c in covariates:
        if c.type == "continuous":
            X_cols.append(pd.to_numeric(e[c.column], errors="coerce").to_numpy(float))
            continue
        strata = pool_strata(e[c.column], e["RESPONDER"], c.pool_below)
        levels = sorted(strata.unique())
        n_strata += len(levels)
        X_cols += [(strata == lev).to_numpy(float) for lev in levels[1:]]
    X = np.column_stack(X_cols)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence is checked below
        res = sm.Logit(y, X).fit(disp=0, maxiter=100)
    beta, cov = np.asarray(res.params), np.asarray(res.cov_params())
    z = stats.norm.ppf(0.5 + level / 2)
    se = math.sqrt(cov[1, 1])
    x1, x0 = X.copy(), X.copy()
    x1[:, 1], x0[:, 1] = 1.0, 0.0
    p1, p0 = 1 / (1 + np.exp(-x1 @ beta)), 1 / (1 + np.exp(-x0 @ beta))
    grad = ((p1 * (1 - p1))[:, None] * x1).mean(0) - ((p0 * (1 - p0))[:, None] * x0).mean(0)
    rd = float(p1.mean() - p0.mean())
    rd_se = float(math.sqrt(grad @ cov @ grad))
    return {
        "odds_ratio": (math.exp(beta[1]), math.exp(beta[1] - z * se), math.exp(beta[1] + z * se)),
        "p_value": float(2 * stats.norm.sf(abs(beta[1] / se))),
        "risk_difference": (rd, rd - z * rd_se, rd + z * rd_se),
        "n": len(e),
        "n_strata": n_strata,
        "converged": bool(res.mle_retvals.get("converged", True)),
    }


def _adjusted_rows(ep, d: pd.DataFrame, trial) -> list[dict]:
    spec = _spec(trial)
    covs = spec.adjustment
    kw0 = dict(analysis="adjusted", visit=ep.visit, population=population_code(ep.population))
    pooled = [c for c in covs if c.type != "continuous" and c.pool_below]
    rows = [result_row(ep.id, "min_stratum", c.pool_below,
                       group="" if len(pooled) == 1 else c.column, **kw0) for c in pooled]
    for a in trial.experimental_arms:
        c = contrast(a, trial.control_arm)
        try:
            fit = logistic_adjusted(d, a, trial.control_arm, covs)
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
            continue  # e.g. perfect separation: no adjusted estimate
        if not fit["converged"]:
            continue
        kw = dict(arm=c, n=fit["n"], **kw0)
        o, rd = fit["odds_ratio"], fit["risk_difference"]
        rows += [
            result_row(ep.id, "odds_ratio", o[0], lower=o[1], upper=o[2], **kw),
            result_row(ep.id, "risk_difference", 100 * rd[0], lower=100 * rd[1],
                       upper=100 * rd[2], **kw),
            result_row(ep.id, "p_value", fit["p_value"], **kw),
            result_row(ep.id, "n_strata", fit["n_strata"], **kw),
        ]
    return rows


def mi_settings(spec, endpoint) -> dict:
    """The endpoint's multiple-imputation settings with defaults filled in; the visits are
    the baseline, the declared predictor visits (default: every scheduled visit before the
    analysed one) and the analysed visit."""
    ep = _endpoint(spec, endpoint)
    s = {**MI_DEFAULTS, **(ep.sensitivity.get("multiple_imputation") or {})}
    pv = s.get("predictor_visits")
    if pv is None:
        pv = [v for v in spec.visit_numbers if v < ep.visit]
    s["visits"] = list(dict.fromkeys([spec.baseline_visit, *pv, ep.visit]))
    return s


def mi_wide(trial, endpoint) -> pd.DataFrame:
    """Patients of the endpoint's population x (each rule endpoint's ``AVAL`` at the
    imputation visits), columns ``<endpoint id>_<AVISITN>``, NaN if missing; ``ARM`` first."""
    spec = _spec(trial)
    ep = _endpoint(spec, endpoint)
    d = population(trial, ep.population)
    subj = spec.data.subject_column
    visits = mi_settings(spec, ep)["visits"]
    parts = []
    for eid in spec.rules[ep.rule].endpoints:
        e2 = spec.endpoint(eid)
        q = _frames(trial, [eid])[e2.dataset]
        q = q[(q["PARAMCD"] == e2.paramcd) & q["AVISITN"].isin(visits)]
        w = q.pivot_table(index=subj, columns="AVISITN", values="AVAL", aggfunc="first")
        w = w.reindex(index=d[subj], columns=visits)
        w.columns = [f"{eid}_{v}" for v in visits]
        parts.append(w)
    w = pd.concat(parts, axis=1)
    w.insert(0, "ARM", d["ARM"].to_numpy())
    return w


def _imputed_responders(spec, ep, x: pd.DataFrame) -> np.ndarray:
    """The rule on one completed dataset (columns of :func:`mi_wide`)."""
    values = {}
    for eid in spec.rules[ep.rule].endpoints:
        cols = {}
        for v in (spec.baseline_visit, ep.visit):
            name = f"{eid}_{v}"
            cols[v] = x[name].to_numpy(float) if name in x else np.full(len(x), np.nan)
        values[eid] = pd.DataFrame(cols, index=x.index)
    return evaluate_values(ep.rule, spec, values, ep.visit)


def multiple_imputation(trial, endpoint) -> list[dict]:
    """MI of the rule's endpoints per arm (MICE-PMM), responder per set, Rubin's rules."""
    spec = _spec(trial)
    ep = _endpoint(spec, endpoint)
    s = mi_settings(spec, ep)
    w = mi_wide(trial, ep)
    per_arm = {}
    for i, a in enumerate(trial.arms):
        g = w[w["ARM"] == a].drop(columns="ARM")
        g = g.loc[:, g.notna().sum() >= 2]  # a visit never observed in an arm is not used
        imps = mice_pmm(g, n_imputations=s["imputations"], n_iter=s["iterations"],
                        seed=s["seed"] + i, donors=s["donors"])
        per_arm[a] = [_imputed_responders(spec, ep, x) for x in imps]
    rows = []
    kw = dict(analysis="mi", visit=ep.visit, population=population_code(ep.population))
    for a in trial.arms:
        props = [float(np.nanmean(r)) for r in per_arm[a]]
        n = len(per_arm[a][0])
        pool = rubin_pool(props, [p * (1 - p) / n for p in props])
        rows.append(result_row(ep.id, "percent", 100 * pool.estimate, arm=a, n=n,
                               lower=100 * max(pool.lower, 0), upper=100 * min(pool.upper, 1),
                               **kw))
    for a in trial.experimental_arms:
        c = contrast(a, trial.control_arm)
        est, var = [], []
        for r1, r2 in zip(per_arm[a], per_arm[trial.control_arm], strict=True):
            p1, p2 = float(np.nanmean(r1)), float(np.nanmean(r2))
            est.append(p1 - p2)
            var.append(p1 * (1 - p1) / len(r1) + p2 * (1 - p2) / len(r2))
        pool = rubin_pool(est, var)
        n = len(per_arm[a][0]) + len(per_arm[trial.control_arm][0])
        rows += [
            result_row(ep.id, "risk_difference", 100 * pool.estimate, arm=c, n=n,
                       lower=100 * pool.lower, upper=100 * pool.upper, **kw),
            result_row(ep.id, "p_value", pool.p_value, arm=c, n=n, **kw),
            result_row(ep.id, "fmi", pool.fmi, arm=c, n=n, **kw),
        ]
    rows.append(result_row(ep.id, "n_imputations", s["imputations"], **kw))
    return rows


def _bayes_rows(ep, counts: dict, trial, prior=DEFAULT_PRIOR) -> list[dict]:
    kw = dict(analysis="bayes", visit=ep.visit, population=population_code(ep.population))
    rows = [result_row(ep.id, "prior_a", prior[0], **kw),
            result_row(ep.id, "prior_b", prior[1], **kw)]
    for a in trial.experimental_arms:
        (x1, n1, _), (x2, n2, _) = counts[a], counts[trial.control_arm]
        post = rd_posterior(x1, n1, x2, n2, prior=prior)
        c = contrast(a, trial.control_arm)
        rows += [
            result_row(ep.id, "risk_difference", 100 * post.median, lower=100 * post.lower,
                       upper=100 * post.upper, arm=c, n=n1 + n2, **kw),
            result_row(ep.id, "posterior_mean", 100 * post.mean, arm=c, n=n1 + n2, **kw),
            result_row(ep.id, "prob_better", post.prob_positive, arm=c, n=n1 + n2, **kw),
        ]
    return rows


def _rate(r: float) -> str:
    return f"{r:.1f}" if round(r, 1) == r else f"{r:g}"


def tipping_label(p_exp: float, p_ctl: float) -> str:
    """The ``group`` label of a tipping-point grid cell."""
    return f"p_exp={_rate(p_exp)};p_ctl={_rate(p_ctl)}"


def _tipping_rows(ep, counts: dict, trial, rates, level: float) -> list[dict]:
    """Fill the missing of each arm with round(rate x missing) responders, for each pair."""
    rows = []
    kw = dict(analysis="tipping_point", visit=ep.visit, population=population_code(ep.population))
    ctl = trial.control_arm
    for a in trial.experimental_arms:
        (x1, n1, m1), (x2, n2, m2) = counts[a], counts[ctl]
        c = contrast(a, ctl)
        fav = {"favours_exp": 0, "favours_ctl": 0}
        for r1 in rates:
            for r2 in rates:
                y1, y2 = x1 + round(r1 * m1), x2 + round(r2 * m2)
                tot1, tot2 = n1 + m1, n2 + m2
                rd, lo, hi = newcombe_rd_ci(y1, tot1, y2, tot2)
                p = chisq_yates(y1, tot1, y2, tot2)[1]
                g = tipping_label(r1, r2)
                rows += [
                    result_row(ep.id, "risk_difference", 100 * rd, lower=100 * lo,
                               upper=100 * hi, arm=c, group=g, n=tot1 + tot2, **kw),
                    result_row(ep.id, "p_value", p, arm=c, group=g, n=tot1 + tot2, **kw),
                ]
                if p < level:
                    fav["favours_exp" if rd > 0 else "favours_ctl"] += 1
        for g, k in fav.items():
            rows.append(result_row(ep.id, "n_significant", k, arm=c, group=g,
                                   n=len(rates) ** 2, **kw))
    return rows


def responder_rows(trial, endpoint) -> list[dict]:
    """The primary analysis of a binary endpoint and its declared sensitivity analyses."""
    spec = _spec(trial)
    ep = _endpoint(spec, endpoint)
    sens = ep.sensitivity or {}
    pop = population_code(ep.population)
    d = responder_data(trial, ep)
    obs = _counts(d, trial.arms)
    rows = _binary_rows(ep, "primary", pop, obs, trial)
    if sens.get("non_responder_imputation"):
        rows += _binary_rows(ep, "nri", pop, _counts(d, trial.arms, nri=True), trial)
    if sens.get("per_protocol") and "per_protocol" in spec.populations:
        pp = responder_data(trial, ep, "per_protocol")
        rows += _binary_rows(ep, "pp", population_code("per_protocol"),
                             _counts(pp, trial.arms), trial)
    if sens.get("adjusted") and spec.adjustment:
        rows += _adjusted_rows(ep, d, trial)
    if sens.get("multiple_imputation") is not None:
        rows += multiple_imputation(trial, ep)
    if sens.get("bayes") is not None:
        prior = tuple(float(x) for x in (sens["bayes"] or {}).get("prior", DEFAULT_PRIOR))
        rows += _bayes_rows(ep, obs, trial, prior)
    if sens.get("tipping_point") is not None:
        rows += _tipping_rows(ep, obs, trial, sens["tipping_point"]["rates"], alpha(spec))
    return rows


# ---------------------------------------------------------------- single-visit continuous
def continuous_data(trial, endpoint) -> pd.DataFrame:
    """One row per patient of the endpoint's population: subject, ``ARM``, the adjustment
    covariates, ``BASE`` (value at the baseline visit), ``AVAL`` (at the endpoint's visit,
    mean of repeated records) and ``CHG``."""
    spec = _spec(trial)
    ep = _endpoint(spec, endpoint)
    subj = spec.data.subject_column
    d = population(trial, ep.population)
    m = _frames(trial, [ep.id])[ep.dataset]
    m = m[m["PARAMCD"] == ep.paramcd]
    w = m.pivot_table(index=subj, columns="AVISITN", values="AVAL", aggfunc="mean")
    w = w.reindex(index=d[subj], columns=[spec.baseline_visit, ep.visit])
    keep = [subj, "ARM", *(c for c in _covariate_columns(spec) if c in d.columns)]
    out = d[keep].copy()
    out["BASE"] = w[spec.baseline_visit].to_numpy(float)
    out["AVAL"] = w[ep.visit].to_numpy(float)
    out["CHG"] = out["AVAL"] - out["BASE"]
    return out


def continuous_rows(trial, endpoint) -> list[dict]:
    """Descriptive statistics by arm (baseline, visit, change) and the ANCOVA at the visit."""
    from scipy import stats

    spec = _spec(trial)
    ep = _endpoint(spec, endpoint)
    pop = population_code(ep.population)
    d = continuous_data(trial, ep)
    rows = []
    kw = dict(analysis="descriptive", population=pop)
    for a in trial.arms:
        g = d[d["ARM"] == a]
        for visit, col, group in ((spec.baseline_visit, "BASE", ""), (ep.visit, "AVAL", ""),
                                  (ep.visit, "CHG", "change")):
            v = g[col].dropna()
            n = len(v)
            mean = float(v.mean()) if n else math.nan
            sd = float(v.std(ddof=1)) if n > 1 else math.nan
            lo = hi = math.nan
            if group == "change" and n > 1:
                half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
                lo, hi = mean - half, mean + half
            common = dict(arm=a, visit=visit, group=group, n=n, **kw)
            rows += [result_row(ep.id, "n", n, **common),
                     result_row(ep.id, "mean", mean, lower=lo, upper=hi, **common),
                     result_row(ep.id, "sd", sd, **common)]
    factors = [c.column for c in spec.adjustment if c.type != "continuous"]
    numeric = [c.column for c in spec.adjustment if c.type == "continuous"]
    fit = ancova(d, "AVAL", "ARM", list(trial.arms), trial.control_arm, baseline="BASE",
                 factors=factors, covariates=numeric)
    kw = dict(analysis="primary", visit=ep.visit, population=pop)
    complete = d.dropna(subset=["AVAL", "BASE", *factors, *numeric])
    for a, e in fit.adjusted_means.items():
        rows.append(result_row(ep.id, "adjusted_mean", e.estimate, lower=e.lower, upper=e.upper,
                               arm=a, n=int((complete["ARM"] == a).sum()), **kw))
    for a, e in fit.contrasts.items():
        c = contrast(a, trial.control_arm)
        rows += [result_row(ep.id, "mean_difference", e.estimate, lower=e.lower, upper=e.upper,
                            arm=c, n=fit.n, **kw),
                 result_row(ep.id, "p_value", e.p_value, arm=c, n=fit.n, **kw),
                 result_row(ep.id, "residual_sd", fit.sigma, arm=c, n=fit.n, **kw)]
    return rows


def compute(trial) -> list[dict]:
    """Every single-visit endpoint's statistics (family contract); the decision rule is
    applied by :mod:`analysis.families.decision` after all families."""
    spec = _spec(trial)
    rows = []
    for ep in binary_endpoints(spec):
        rows += responder_rows(trial, ep)
    for ep in continuous_endpoints(spec):
        if not _frames(trial, [ep.id])[ep.dataset].empty:
            rows += continuous_rows(trial, ep)
    return rows


def analysed(store, spec, arms) -> list[tuple[str, dict[str, int]]]:
    """``[(label, {arm: n analysed})]`` of the decision's single-visit continuous endpoints:
    the ``n`` of their primary-analysis adjusted means (none when not analysed)."""
    out = []
    for ep in continuous_endpoints(spec, "decision"):
        rows = store.select(ep.id, analysis="primary", statistic="adjusted_mean")
        counts = {r.arm: int(r.n) for r in rows.itertuples() if r.arm in set(arms)
                  and r.n == r.n}
        if counts:
            out.append((lower_first(ep.short_label or ep.label), counts))
    return out


# ---------------------------------------------------------------- prose
def p_text(p: float) -> str:
    """``'p = 0.77'`` or ``'p < 0.001'`` for prose."""
    f = fmt_p(p)
    return f"p {f[0]} {f[1:]}" if f.startswith("<") else f"p = {f}"


def _tipping_endpoint(spec):
    eps = [e for e in binary_endpoints(spec, "decision") if "tipping_point" in e.sensitivity]
    eps = eps or [e for e in binary_endpoints(spec) if "tipping_point" in e.sensitivity]
    return eps[0] if eps else None


def tipping_sentence(store, arm: str, control: str, endpoint=None, spec=None) -> str:
    """What the tipping-point grid of a binary endpoint shows, written from the store."""
    spec = spec or _current_spec()
    ep = _endpoint(spec, endpoint) if endpoint is not None else _tipping_endpoint(spec)
    kw = dict(analysis="tipping_point", arm=contrast(arm, control))
    a = fmt_num(alpha(spec), 2)
    row = store.get(ep.id, "n_significant", group="favours_exp", **kw)
    n_exp, cells = int(row["value"]), int(row["n"])
    n_ctl = int(store.value(ep.id, "n_significant", group="favours_ctl", **kw))
    head = (f"In the tipping-point analysis, over {cells} combinations of assumed response "
            f"rates among the patients without a response status at "
            f"{lower_first(visit_label(spec, ep.visit))}, ")
    if n_exp == n_ctl == 0:
        return head + f"the chi-square test reached p < {a} in none"
    return head + f"p < {a} in {n_exp} favouring {arm} and in {n_ctl} favouring {control}"


def tipping_text(store, spec, arms, control) -> Markdown:
    """:func:`tipping_sentence` of every decision endpoint with a tipping-point grid in the
    store and every experimental arm, one paragraph each."""
    return Markdown("\n\n").join(
        tipping_sentence(store, a, control, ep, spec) + "."
        for ep in _tipping_endpoints(spec, store) for a in arms if a != control)


def _current_spec():
    from analysis.spec.locate import current_spec

    return current_spec()


def responder_summary(store, spec, arms, control, role: str = "decision") -> Markdown:
    """One paragraph per binary endpoint: responders per arm (observed cases), missing
    status, and the risk difference of each experimental arm with its p-value."""
    paras = []
    for ep in binary_endpoints(spec, role):
        vis = lower_first(visit_label(spec, ep.visit))
        try:
            parts = [Markdown("{} of {} {} patients ({}%)").format(
                fmt_int(store.value(ep.id, "n_responders", arm=a)),
                fmt_int(store.value(ep.id, "N", arm=a)), a,
                fmt_num(store.value(ep.id, "percent", arm=a), 0)) for a in arms]
        except ResultNotFound:
            continue
        text = Markdown("**{}.** At {}, ").format(ep.label, vis)
        text += Markdown(", ").join(parts[:-1]) + Markdown(" and ") + parts[-1] if len(
            parts) > 1 else parts[0]
        text += Markdown(" whose status was known were responders")
        miss = [Markdown("{} {}").format(fmt_int(store.value(ep.id, "n_missing", arm=a)), a)
                for a in arms]
        text += Markdown("; ") + Markdown(", ").join(miss[:-1]) + Markdown(" and ") + miss[-1] \
            if len(miss) > 1 else Markdown("; ") + miss[0]
        text += Markdown(" patients of the population had no status.")
        for a in arms:
            if a == control:
                continue
            c = contrast(a, control)
            try:
                rd = store.get(ep.id, "risk_difference", arm=c, analysis="primary")
            except ResultNotFound:
                continue
            text += Markdown(" The difference {} was {} percentage points (95% CI {}; {}, "
                             "chi-square with continuity correction).").format(
                c, fmt_num(rd["value"]), fmt_ci(rd["lower"], rd["upper"]),
                p_text(store.value(ep.id, "p_value", arm=c, analysis="primary")))
        paras.append(text)
    return Markdown("\n\n").join(paras)


def sensitivity_summary(store, spec, arms, control, role: str = "decision") -> Markdown:
    """The risk difference of each declared sensitivity analysis, per binary endpoint and
    contrast, written from the store."""
    labels = analysis_labels(spec)
    paras = []
    for ep in binary_endpoints(spec, role):
        for a in [x for x in arms if x != control]:
            c = contrast(a, control)
            items = []
            for analysis in ("nri", "mi", "pp", "adjusted"):
                try:
                    rd = store.get(ep.id, "risk_difference", analysis=analysis, arm=c)
                except ResultNotFound:
                    continue
                items.append(Markdown("{}: {} percentage points (95% CI {})").format(
                    labels[analysis], fmt_num(rd["value"]), fmt_ci(rd["lower"], rd["upper"])))
            try:
                post = store.get(ep.id, "risk_difference", analysis="bayes", arm=c)
                pb = store.value(ep.id, "prob_better", analysis="bayes", arm=c)
                items.append(Markdown("Bayesian posterior median: {} percentage points (95% "
                                      "credible interval {}; posterior probability that "
                                      "response is more frequent with {}: {})").format(
                    fmt_num(post["value"]), fmt_ci(post["lower"], post["upper"]), a,
                    fmt_num(pb, 2)))
            except ResultNotFound:
                pass
            if not items:
                continue
            head = Markdown("{}, {}: ").format(ep.label, c)
            paras.append(head + Markdown("; ").join(items) + Markdown("."))
    return Markdown("\n\n").join(paras)


def continuous_summary(store, spec, arms, control, role: str = "decision") -> Markdown:
    """Per single-visit continuous endpoint: mean change per arm and the adjusted difference
    of each experimental arm, written from the store."""
    paras = []
    for ep in continuous_endpoints(spec, role):
        u = f" {ep.unit}" if ep.unit else ""
        try:
            chg = [Markdown("{}{} with {}").format(
                fmt_num(store.value(ep.id, "mean", analysis="descriptive", arm=a,
                                    visit=ep.visit, group="change")), u, a) for a in arms]
        except ResultNotFound:
            continue
        text = Markdown("**{}.** The mean changed from baseline to {} by ").format(
            ep.label, lower_first(visit_label(spec, ep.visit)))
        text += Markdown(", ").join(chg[:-1]) + Markdown(" and ") + chg[-1] if len(chg) > 1 \
            else chg[0]
        text += Markdown(".")
        for a in arms:
            if a == control:
                continue
            c = contrast(a, control)
            try:
                md = store.get(ep.id, "mean_difference", arm=c, analysis="primary")
            except ResultNotFound:
                continue
            text += Markdown(" Adjusted for the baseline value{}, the difference {} was {}{} "
                             "(95% CI {}; {}).").format(
                _covariates_text(spec), c, fmt_num(md["value"]), u,
                fmt_ci(md["lower"], md["upper"]),
                p_text(store.value(ep.id, "p_value", arm=c, analysis="primary")))
        paras.append(text)
    return Markdown("\n\n").join(paras)


def _covariates_text(spec) -> str:
    labels = [lower_first(c.label or c.column) for c in spec.adjustment]
    return "" if not labels else " and " + ", ".join(labels)


# ---------------------------------------------------------------- methods prose
def _and(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _num(x) -> str:
    return f"{x:g}"


def rule_methods(spec, role: str = "decision") -> Markdown:
    """How each binary endpoint's responder status is defined (rule, visit, population)."""
    paras = []
    for ep in binary_endpoints(spec, role):
        rule = spec.rules[ep.rule]
        what = rule.description or "Responder: " + _rule_words(spec, rule.condition, top=True)
        pop = population_label(spec, ep.population)
        paras.append(Markdown("**{}.** {} The status is evaluated at {} in the {}; a criterion "
                              "that is met makes a responder even when another is not "
                              "evaluable (observed cases).").format(
            ep.label, what.rstrip(".") + ".", lower_first(visit_label(spec, ep.visit)),
            lower_first(pop)))
    return Markdown("\n\n").join(paras)


def _rule_words(spec, node, top: bool = False) -> str:
    from analysis.spec.model import Criterion

    if isinstance(node, Criterion):
        ep = spec.endpoint(node.endpoint)
        parts = []
        if node.percent is not None:
            parts.append(f"{_num(node.percent)} % of its baseline value")
        if node.absolute is not None:
            parts.append(f"{_num(node.absolute)}{' ' + ep.unit if ep.unit else ''}")
        return f"{ep.short_label or ep.label} improved by at least " + " and ".join(parts)
    joiner = " and " if node.op == "all" else " or "
    text = joiner.join(_rule_words(spec, t) for t in node.terms)
    return text if top else "(" + text + ")"


def sensitivity_methods(spec, role: str = "decision") -> Markdown:
    """The declared sensitivity analyses of each binary endpoint, with their settings."""
    paras = []
    for ep in binary_endpoints(spec, role):
        sens = ep.sensitivity or {}
        items = []
        if sens.get("non_responder_imputation"):
            items.append("non-responder imputation, every patient without a response status "
                         "counted as a non-responder")
        if sens.get("multiple_imputation") is not None:
            s = mi_settings(spec, ep)
            names = _and([spec.endpoint(e).short_label or spec.endpoint(e).label
                          for e in spec.rules[ep.rule].endpoints])
            vis = _and([lower_first(visit_label(spec, v)) for v in s["visits"]])
            items.append(
                f"multiple imputation under missing at random: {s['imputations']} datasets "
                f"imputed separately in each arm by chained equations with predictive mean "
                f"matching [@vanbuuren2011mice] (regression parameters drawn from their "
                f"posterior, {s['donors']} donors, {s['iterations']} iterations, fixed seed) "
                f"of {names} at {vis}, the responder status derived in each "
                f"completed dataset, and the risk differences and their large-sample variances "
                f"combined by Rubin's rules [@rubin1987multiple], with a t reference "
                f"distribution on Rubin's degrees of freedom")
        if sens.get("per_protocol") and "per_protocol" in spec.populations:
            items.append(f"the {lower_first(population_label(spec, 'per_protocol'))}, "
                         f"observed cases")
        if sens.get("adjusted") and spec.adjustment:
            covs = _and([lower_first(c.label or c.column) for c in spec.adjustment])
            pool = [c for c in spec.adjustment if c.type != "continuous" and c.pool_below]
            text = (f"a logistic regression of response on arm and {covs}, reported as an "
                    f"adjusted odds ratio and as a covariate-adjusted risk difference (average "
                    f"of the predicted probabilities with all patients in one arm minus all in "
                    f"the other, delta-method interval)")
            for c in pool:
                text += (f"; levels of {lower_first(c.label or c.column)} with fewer than "
                         f"{c.pool_below} evaluable patients")
            text += ("; levels " if not pool else ", or ") + (
                "whose patients were all responders or all non-responders, were pooled in "
                "one stratum")
            items.append(text)
        if sens.get("tipping_point") is not None:
            rates = list(sens["tipping_point"]["rates"])
            steps = {round(b - a, 10) for a, b in zip(rates, rates[1:], strict=False)}
            grid = (f"from {_num(rates[0])} to {_num(rates[-1])} by steps of "
                    f"{_num(next(iter(steps)))}" if len(steps) == 1
                    else _and([_num(r) for r in rates]))
            items.append(f"a tipping-point analysis [@yan2009missing]: the missing responses "
                         f"of each arm were replaced by responders in a proportion {grid} "
                         f"(numbers of responders rounded to whole patients), independently "
                         f"in each arm, and the chi-square test repeated on every combination")
        if sens.get("bayes") is not None:
            a, b = (sens["bayes"] or {}).get("prior", DEFAULT_PRIOR)
            kind = " (uniform)" if (a, b) == (1, 1) else ""
            items.append(f"a Bayesian re-analysis with independent Beta({_num(a)}, {_num(b)})"
                         f"{kind} priors on the response probability of each arm, reporting "
                         f"the posterior median of the risk difference, its 95 % equal-tailed "
                         f"credible interval and the posterior probability that the response "
                         f"rate is higher with the experimental arm; these were computed "
                         f"exactly, without simulation (the distribution function of the "
                         f"difference of the two Beta posteriors by numerical integration, the "
                         f"median and the interval limits as its roots)")
        if not items:
            continue
        listed = "; ".join(f"({_roman(i)}) {t}" for i, t in enumerate(items, 1))
        paras.append(Markdown("Sensitivity analyses of {} addressed the missing data and the "
                              "analysis model: ").format(lower_first(ep.label))
                     + Markdown(listed + "."))
    return Markdown("\n\n").join(paras)


def _roman(i: int) -> str:
    return ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x"][i - 1]


def continuous_methods(spec, role: str = "decision") -> Markdown:
    """How the single-visit continuous endpoints are analysed (ANCOVA)."""
    eps = continuous_endpoints(spec, role)
    if not eps:
        return Markdown()
    names = _and([f"{ep.label}{' (' + ep.unit + ')' if ep.unit else ''} at "
                  f"{lower_first(visit_label(spec, ep.visit))}" for ep in eps])
    return Markdown("{} {} analysed by analysis of covariance on arm, the baseline value{} in "
                    "the patients with both values; we report the adjusted difference in means "
                    "with its 95 % confidence interval and p-value, adjusted means per arm "
                    "(averaged over the observed covariates), and the baseline, visit and "
                    "change values per arm.").format(
        names[:1].upper() + names[1:], "was" if len(eps) == 1 else "were",
        _covariates_text(spec))


# ---------------------------------------------------------------- tables
def _npct(store, ep_id, analysis, arm) -> str:
    try:
        pct = store.get(ep_id, "percent", analysis=analysis, arm=arm)
    except ResultNotFound:
        return "–"
    try:
        x = store.value(ep_id, "n_responders", analysis=analysis, arm=arm)
        n = store.value(ep_id, "N", analysis=analysis, arm=arm)
        return f"{int(x)}/{int(n)} ({fmt_num(pct['value'], 0)}%)"
    except ResultNotFound:
        return f"{fmt_num(pct['value'], 0)}%"


def risk_differences(store, arms, control, endpoint: str, labels: dict | None = None):
    """Yield ``(arm, contrast, analysis, label, row)`` for every stored RD of an endpoint.

    Analyses follow :data:`ANALYSES` (``labels`` may rename them); those not in the store
    (not declared, or e.g. an adjusted model that could not be fitted) are skipped.
    """
    labels = labels or ANALYSES
    for a in [x for x in arms if x != control]:
        c = contrast(a, control)
        for analysis in ANALYSES:
            try:
                rd = store.get(endpoint, "risk_difference", analysis=analysis, arm=c)
            except ResultNotFound:
                continue
            yield a, c, analysis, labels[analysis], rd


#: Column headers of the responder tables: units written out, P(RD > 0) apart from p-values.
RD_HEADER = "RD, percentage points (95% CI)"
PROB_HEADER = "P(RD\u00a0>\u00a00)"


def responder_table(store, arms, control, endpoints=None, spec=None) -> pd.DataFrame:
    """Responders at the visit in every analysis of each binary endpoint (default: those of
    the decision): n/N (%) per arm, RD (95 % CI) and p; the Bayesian analysis gives no
    p-value but P(RD > 0), in a column of its own. An ``Endpoint`` column appears with more
    than one endpoint, a ``Contrast`` column with more than one experimental arm."""
    spec = spec or _current_spec()
    eps = binary_endpoints(spec, "decision") if endpoints is None else \
        [_endpoint(spec, e) for e in endpoints]
    labels = analysis_labels(spec)
    several = sum(a != control for a in arms) > 1
    recs = []
    for ep in eps:
        for a, c, analysis, label, rd in risk_differences(store, arms, control, ep.id, labels):
            rec = {"Endpoint": ep.short_label or ep.label} if len(eps) > 1 else {}
            rec["Analysis"] = label
            if several:
                rec["Contrast"] = c
            for arm in arms:  # display order; blank for an arm outside this contrast
                rec[arm] = _npct(store, ep.id, analysis, arm) if arm in (a, control) else ""
            rec[RD_HEADER] = f"{fmt_num(rd['value'])} ({fmt_ci(rd['lower'], rd['upper'])})"
            if analysis == "bayes":
                rec["p"] = "–"
                pb = store.value(ep.id, "prob_better", analysis="bayes", arm=c)
                rec[PROB_HEADER] = fmt_num(pb, 2)
            else:
                rec["p"] = fmt_p(store.value(ep.id, "p_value", analysis=analysis, arm=c))
                rec[PROB_HEADER] = ""
            recs.append(rec)
    df = pd.DataFrame(recs)
    if PROB_HEADER in df and not df[PROB_HEADER].astype(bool).any():
        df = df.drop(columns=PROB_HEADER)
    return df.fillna("")


def effect_table(store, arms, control, endpoints=None, spec=None) -> pd.DataFrame:
    """Primary analysis effect sizes (CONSORT 17a/b) and the covariate-adjusted odds ratio of
    each binary endpoint, each with its 95 % CI, and in a column of its own the p-value of
    the test that goes with it: Yates chi-square for the risk difference, Fisher's exact test
    (conditional on the margins) for the odds ratio, the Wald test of the arm coefficient
    for the adjusted odds ratio."""
    spec = spec or _current_spec()
    eps = binary_endpoints(spec, "decision") if endpoints is None else \
        [_endpoint(spec, e) for e in endpoints]
    adj = "Odds ratio, " + lower_first(adjusted_label(spec))
    recs = []
    for ep in eps:
        for a in [x for x in arms if x != control]:
            c = contrast(a, control)
            items = [("Risk difference, percentage points", "risk_difference", "primary", 1,
                      "p_value"),
                     ("Risk ratio", "risk_ratio", "primary", 2, None),
                     ("Odds ratio", "odds_ratio", "primary", 2, "p_value_fisher"),
                     (adj, "odds_ratio", "adjusted", 2, "p_value")]
            for label, stat, analysis, digits, p_stat in items:
                try:
                    r = store.get(ep.id, stat, analysis=analysis, arm=c)
                except ResultNotFound:
                    continue
                try:
                    p = fmt_p(store.value(ep.id, p_stat, analysis=analysis, arm=c)) \
                        if p_stat else ""
                except ResultNotFound:
                    p = ""
                recs.append({"Endpoint": ep.short_label or ep.label, "Contrast": c,
                             "Measure": label, "Estimate": fmt_num(r["value"], digits),
                             "95% CI": fmt_ci(r["lower"], r["upper"], digits), "p": p})
    df = pd.DataFrame(recs, columns=["Endpoint", "Contrast", "Measure", "Estimate", "95% CI",
                                     "p"])
    for col in ("Endpoint", "Contrast"):
        if df[col].nunique() <= 1:
            df = df.drop(columns=col)
    return df


def continuous_table(store, arms, control, endpoints=None, spec=None) -> pd.DataFrame:
    """Each single-visit continuous endpoint (default: those of the decision), one block:
    baseline, visit and change, mean (SD); n, per arm, the adjusted means and the ANCOVA
    difference of each experimental arm. An ``Endpoint`` column with several endpoints; the
    visit column is headed by the visit's label when all endpoints share the visit."""
    spec = spec or _current_spec()
    eps = continuous_endpoints(spec, "decision") if endpoints is None else \
        [_endpoint(spec, e) for e in endpoints]
    visits = {ep.visit for ep in eps}
    vis_col = visit_label(spec, next(iter(visits))) if len(visits) == 1 else "At the visit"
    base_col = visit_label(spec, spec.baseline_visit)

    def msd(ep, arm, visit, group=""):
        kw = dict(analysis="descriptive", arm=arm, visit=visit, group=group)
        n = store.value(ep.id, "n", **kw)
        return (f"{fmt_num(store.value(ep.id, 'mean', **kw))} "
                f"({fmt_num(store.value(ep.id, 'sd', **kw))}); {fmt_int(n)}")

    recs = []
    for ep in eps:
        head = {"Endpoint": _with_unit(ep)} if len(eps) > 1 else {}
        try:
            for a in arms:
                am = store.get(ep.id, "adjusted_mean", arm=a)
                recs.append({**head, "Arm": a, base_col: msd(ep, a, spec.baseline_visit),
                             vis_col: msd(ep, a, ep.visit),
                             "Change": msd(ep, a, ep.visit, "change"),
                             "Adjusted mean (95% CI)": f"{fmt_num(am['value'])} "
                                                       f"({fmt_ci(am['lower'], am['upper'])})"})
        except ResultNotFound:
            continue
        for a in [x for x in arms if x != control]:
            c = contrast(a, control)
            md = store.get(ep.id, "mean_difference", arm=c)
            p = p_text(store.value(ep.id, "p_value", arm=c))
            recs.append({**head, "Arm": f"Difference, {c}", base_col: "", vis_col: "",
                         "Change": "",
                         "Adjusted mean (95% CI)": f"{fmt_num(md['value'])} "
                                                   f"({fmt_ci(md['lower'], md['upper'])}); "
                                                   f"{p}"})
    return pd.DataFrame(recs)


def repeated_decision_table(store, spec, arms, control) -> pd.DataFrame:
    """The decision's repeated continuous endpoints at the primary visit, from the mixed
    model rows the secondary family stored (analysis ``mmrm``): LS mean change (95% CI) per
    arm and the difference of each experimental arm (95% CI; p), one block per endpoint."""
    visit = spec.primary_visit
    recs = []
    eps = [spec.endpoint(e) for e in decision_ids(spec)
           if spec.endpoint(e).kind == "repeated_continuous"]
    for ep in eps:
        head = {"Endpoint": _with_unit(ep)}
        for a in arms:
            try:
                r = store.get(ep.id, "lsmean", analysis="mmrm", visit=visit, arm=a)
            except ResultNotFound:
                continue
            recs.append({**head, "Arm": a,
                         "LS mean change (95% CI)": f"{fmt_num(r['value'])} "
                                                    f"({fmt_ci(r['lower'], r['upper'])})"})
        for a in [x for x in arms if x != control]:
            c = contrast(a, control)
            try:
                r = store.get(ep.id, "difference", analysis="mmrm", visit=visit, arm=c)
                p = p_text(store.value(ep.id, "p_value", analysis="mmrm", visit=visit, arm=c))
            except ResultNotFound:
                continue
            recs.append({**head, "Arm": f"Difference, {c}",
                         "LS mean change (95% CI)": f"{fmt_num(r['value'])} "
                                                    f"({fmt_ci(r['lower'], r['upper'])}); {p}"})
    df = pd.DataFrame(recs, columns=["Endpoint", "Arm", "LS mean change (95% CI)"])
    return df.drop(columns="Endpoint") if len(eps) == 1 else df


def repeated_decision_summary(store, spec, arms, control) -> Markdown:
    """Per repeated continuous decision endpoint: the mixed-model difference in mean change
    at the primary visit of each experimental arm, written from the store."""
    visit = spec.primary_visit
    paras = []
    for eid in decision_ids(spec):
        ep = spec.endpoint(eid)
        if ep.kind != "repeated_continuous":
            continue
        u = f" {unit_text(ep)}" if unit_text(ep) else ""
        better = "lower" if ep.direction == "lower_is_better" else "higher"
        text = Markdown("**{}.** At {} ({} is better), ").format(
            ep.label, lower_first(visit_label(spec, visit)), better)
        parts = []
        for a in [x for x in arms if x != control]:
            c = contrast(a, control)
            try:
                r = store.get(ep.id, "difference", analysis="mmrm", visit=visit, arm=c)
                p = store.value(ep.id, "p_value", analysis="mmrm", visit=visit, arm=c)
            except ResultNotFound:
                continue
            parts.append(Markdown("the difference in mean change {} was {}{} (95% CI {}; "
                                  "{})").format(c, fmt_num(r["value"]), u,
                                               fmt_ci(r["lower"], r["upper"]), p_text(p)))
        if parts:
            paras.append(text + Markdown("; ").join(parts) + Markdown("."))
    return Markdown("\n\n").join(paras)


def _with_unit(ep) -> str:
    label = ep.short_label or ep.label
    return f"{label} ({ep.unit})" if ep.unit and f"({ep.unit})" not in label else label


def _missing_text(ep) -> str:
    if ep.kind == CONTINUOUS:
        return "Complete cases: patients with the baseline and the visit's value"
    names = {"non_responder_imputation": "NRI", "multiple_imputation": "MI",
             "per_protocol": "per-protocol", "tipping_point": "tipping point"}
    sens = [v for k, v in names.items() if ep.sensitivity.get(k)]
    return "Observed cases" + ("; sensitivity: " + ", ".join(sens) if sens else "")


def estimand_table(spec, arms, control, endpoints=None) -> pd.DataFrame:
    """The estimands of the decision's endpoints (default) by ICH E9(R1) attribute."""
    eps = [spec.endpoint(e) for e in decision_ids(spec)] if endpoints is None else \
        [_endpoint(spec, e) for e in endpoints]
    treat = " vs ".join([*(a for a in arms if a != control), control])
    summary = {BINARY: "Risk difference (also RR, OR)",
               CONTINUOUS: "Difference in means adjusted for the baseline value"
                           + _covariates_text(spec),
               "repeated_continuous": "Difference in mean change (MMRM)"}
    out = {"Attribute": ["Population", "Treatment", "Variable", "Intercurrent events",
                         "Missing data", "Population-level summary"]}
    for ep in eps:
        if ep.kind == BINARY and ep.rule:
            rule = spec.rules[ep.rule]
            variable = (rule.description or _rule_words(spec, rule.condition, top=True)
                        ).rstrip(".")
            variable = f"{variable}, at {lower_first(visit_label(spec, ep.visit))}"
        else:
            variable = _with_unit(ep)
            if ep.kind == CONTINUOUS:
                variable += f" at {lower_first(visit_label(spec, ep.visit))}"
        missing = _missing_text(ep) if ep.kind != "repeated_continuous" else \
            "Missing at random (likelihood-based, all observed visits)"
        out[ep.label] = [population_label(spec, ep.population), treat, variable,
                         "Treatment policy", missing, summary.get(ep.kind, "")]
    return pd.DataFrame(out)


def continuous_name(spec, role: str = "decision") -> str:
    """The file name of the continuous table and individual-values figure of ``role``'s
    single-visit continuous endpoints (from their ids)."""
    prefix = "coprimary" if role == "decision" else "single_visit"
    return prefix + "_" + "_".join(e.id for e in continuous_endpoints(spec, role))


def _tipping_endpoints(spec, store):
    return [e for e in binary_endpoints(spec, "decision")
            if "tipping_point" in e.sensitivity
            and not store.select(e.id, analysis="tipping_point").empty]


def tables(trial, store) -> dict:
    """Tables written to ``_output/tables``: those of the decision's endpoints (prefix
    ``coprimary_``) and of the other single-visit endpoints (prefix ``single_visit_``)."""
    spec = _spec(trial)
    arms, ctl = trial.arms, trial.control_arm
    out = {}
    if decision_ids(spec):
        out["coprimary_estimands"] = estimand_table(spec, arms, ctl)
    bins = [e for e in binary_endpoints(spec, "decision") if not store.select(e.id).empty]
    if bins:
        out["coprimary_responders"] = responder_table(store, arms, ctl, bins, spec)
        out["coprimary_effects"] = effect_table(store, arms, ctl, bins, spec)
    conts = [e for e in continuous_endpoints(spec, "decision") if not store.select(e.id).empty]
    if conts:
        out[continuous_name(spec)] = continuous_table(store, arms, ctl, conts, spec)
    tips = _tipping_endpoints(spec, store)
    exp = list(trial.experimental_arms)
    for ep in tips:
        for a in exp:
            g = tipping_grid(store, a, ctl, ep.id)
            g.index.name = f"rate missing {a} \\ {ctl}"
            suffix = "" if len(tips) == 1 else f"_{ep.id}"
            suffix += "" if len(exp) == 1 else f"_{exp.index(a) + 1}"
            out[f"coprimary_tipping_p{suffix}"] = g.reset_index()
    other_bins = [e for e in binary_endpoints(spec, "nondecision")
                  if not store.select(e.id).empty]
    if other_bins:
        out["single_visit_responders"] = responder_table(store, arms, ctl, other_bins, spec)
    other_conts = [e for e in continuous_endpoints(spec, "nondecision")
                   if not store.select(e.id).empty]
    if other_conts:
        out[continuous_name(spec, "nondecision")] = continuous_table(store, arms, ctl,
                                                                     other_conts, spec)
    return out


def figures(trial, store) -> dict:
    """Figures written to ``_output/figures`` (only for the endpoints present)."""
    from analysis.displays import coprimary_plots as cp

    spec = _spec(trial)
    arms, ctl = trial.arms, trial.control_arm
    labels = analysis_labels(spec)
    out = {}
    bins = [e for e in binary_endpoints(spec, "decision") if not store.select(e.id).empty]
    if bins:
        out["coprimary_forest"] = cp.forest_rd(
            store, arms, ctl, [(e.id, e.short_label or e.label) for e in bins], labels)
    tips = _tipping_endpoints(spec, store)
    if tips:
        out["coprimary_tipping"] = cp.tipping_point(
            store, arms, ctl, [(e.id, e.short_label or e.label) for e in tips], alpha(spec))
    conts = [e for e in continuous_endpoints(spec, "decision") if not store.select(e.id).empty]
    if conts:
        panels = [(continuous_data(trial, e), _with_unit(e),
                   visit_label(spec, spec.baseline_visit), visit_label(spec, e.visit))
                  for e in conts]
        out[continuous_name(spec)] = cp.individual_values(panels, arms)
    return out
