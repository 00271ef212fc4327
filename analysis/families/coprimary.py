"""Co-primary endpoints (family module): month-12 responders and MRI T2 of the treated disc.

Clinical co-primary: responder at month 12 (:func:`analysis.families.derive.derive_responders`).
Population ITT (``ITTFL == "Y"``, by randomised arm ``TRT01P``) unless stated.

Results-store rows of endpoint ``"responder_m12"`` (visit 12; proportions as percent 0-100,
risk differences in percentage points):

- per arm, analyses ``primary`` (observed cases), ``nri`` (missing = non-responder), ``pp``
  (per-protocol, observed cases): ``n_responders`` (n = N), ``N``, ``n_missing``,
  ``percent`` (Wilson limits); ``mi``: ``percent`` (Rubin limits);
- contrast ``"<arm> vs <control>"``: ``risk_difference`` (Newcombe hybrid score limits for
  primary/nri/pp; Rubin for ``mi``; average marginal effect for ``adjusted_country``;
  credible interval for ``bayes``), ``risk_ratio``, ``odds_ratio`` (log/logit limits),
  ``p_value`` (Yates chi-square; Wald for ``mi``/``adjusted_country``), ``p_value_fisher``;
  ``bayes``: ``prob_better`` (P(RD > 0)), with ``prior_a``/``prior_b`` (arm "Overall");
  ``mi``: ``n_imputations``, ``fmi``; ``tipping_point``: ``risk_difference`` and ``p_value``
  per ``group="p_exp=<rate>;p_ctl=<rate>"`` (assumed response rates among the missing) and
  ``n_significant`` (grid points with p < alpha, group ``"favours_exp"``/``"favours_ctl"``).

Structural co-primary, endpoint ``"t2"`` (ms): analysis ``descriptive`` per arm: visit 0 and
12 ``n``/``mean``/``sd``; visit 12 ``group="change"``: ``n``/``mean`` (t limits)/``sd``;
analysis ``primary`` (ANCOVA month-12 T2 ~ arm + baseline T2 + country, complete cases):
``adjusted_mean`` per arm and ``mean_difference``/``p_value`` per contrast.

Decision, endpoint ``"coprimary_decision"`` (per contrast): ``success`` (1/0) with
``group="responder_m12"``, ``"t2"`` and ``""`` (overall), and ``alpha`` (arm "Overall").
Rule: superiority on BOTH co-primary endpoints, each two-sided at ``ALPHA`` in its primary
analysis with an effect in favour of the experimental arm (no multiplicity adjustment: the
intersection-union test controls the type I error).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.displays.formatting import fmt_ci, fmt_int, fmt_num, fmt_p
from analysis.families.derive import derive_responders, responder
from analysis.results import ResultNotFound, result_row
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

ENDPOINT = "responder_m12"
T2 = "t2"
DECISION = "coprimary_decision"
VISIT = 12
ALPHA = 0.05
N_IMPUTATIONS = 50
MI_ITERATIONS = 10  # Gibbs iterations per chain
MI_DONORS = 5  # predictive-mean-matching donor pool
MI_SEED = 20180401
TIPPING_RATES = tuple(round(0.1 * i, 1) for i in range(11))
EARLIER_VISITS = (0, 1, 3, 6)
MIN_STRATUM = 20  # countries with fewer evaluable patients are pooled in the logistic model
OTHER = "Other countries"

ANALYSES = {  # analysis -> label, in display order
    "primary": "Primary (observed)",
    "nri": "Non-responder imputation",
    "mi": "Multiple imputation",
    "pp": "Per-protocol",
    "adjusted_country": "Adjusted for country",
    "bayes": "Bayesian",
}


def contrast(arm: str, control: str) -> str:
    """The results-store label of a contrast."""
    return f"{arm} vs {control}"


def _experimental(trial) -> list[str]:
    return [a for a in trial.arms if a != trial.control_arm]


# ---------------------------------------------------------------- data
def population(trial, pop: str = "ITT") -> pd.DataFrame:
    """ADSL rows of a population (``ITT`` or ``PP``) with ``ARM`` = randomised arm."""
    flag = {"ITT": "ITTFL", "PP": "PPROTFL"}[pop]
    adsl = trial.adsl
    d = adsl.loc[(adsl[flag] == "Y") & adsl["TRT01P"].isin(trial.arms)].copy()
    d["ARM"] = d["TRT01P"].astype(str)
    return d.reset_index(drop=True)


def responder_data(trial, pop: str = "ITT") -> pd.DataFrame:
    """One row per patient of ``pop``: ARM, COUNTRY and the month-12 responder derivation."""
    d = population(trial, pop)
    r = derive_responders(trial.adqs, visit=VISIT, subjects=d["USUBJID"])
    return pd.concat([d[["USUBJID", "ARM", "COUNTRY"]], r.drop(columns="USUBJID")], axis=1)


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
def _binary_rows(analysis: str, pop: str, counts: dict, trial) -> list[dict]:
    rows = []
    ctl = trial.control_arm

    def row(stat, value, **kw):
        kw.setdefault("population", pop)
        rows.append(result_row(ENDPOINT, stat, value, analysis=analysis, visit=VISIT, **kw))

    for a in trial.arms:
        x, n, miss = counts[a]
        row("n_responders", x, arm=a, n=n)
        row("N", n, arm=a, n=n)
        row("n_missing", miss, arm=a, n=n)
        lo, hi = wilson_ci(x, n) if n else (math.nan, math.nan)
        row("percent", 100 * x / n if n else math.nan, arm=a, lower=100 * lo, upper=100 * hi,
            n=n)
    for a in _experimental(trial):
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


def pool_strata(levels: pd.Series, y: pd.Series, min_size: int = MIN_STRATUM) -> pd.Series:
    """Stratum labels for a logistic model: levels with fewer than ``min_size`` patients, or
    whose outcome does not vary (all or no responders, which would make the model's estimate
    infinite), are pooled into :data:`OTHER`. If the pooled stratum itself is too small or
    without variation, it is merged into the largest stratum.
    """
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


def logistic_adjusted(d: pd.DataFrame, arm: str, control: str, factor: str = "COUNTRY",
                      level: float = 0.95, min_stratum: int = MIN_STRATUM) -> dict:
    """Logistic regression of response on arm and ``factor`` (evaluable patients).

    The factor's levels are first pooled by :func:`pool_strata`. Returns the adjusted odds
    ratio (Wald limits, p) and the covariate-adjusted risk difference: the average over
    patients of the predicted probability with everyone in ``arm`` minus everyone in
    ``control`` (g-computation), delta-method limits; ``n_strata`` and ``converged``.
    """
    import warnings

    import statsmodels.api as sm
    from scipy import stats

    e = d[d["RESPONDER"].notna() & d["ARM"].isin([arm, control])]
    y = e["RESPONDER"].to_numpy(float)
    strata = pool_strata(e[factor], e["RESPONDER"], min_stratum)
    levels = sorted(strata.unique())
    cols = [np.ones(len(e)), (e["ARM"] == arm).to_numpy(float)]
    cols += [(strata == lev).to_numpy(float) for lev in levels[1:]]
    X = np.column_stack(cols)
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
        "n_strata": len(levels),
        "converged": bool(res.mle_retvals.get("converged", True)),
    }


def _adjusted_rows(d: pd.DataFrame, trial) -> list[dict]:
    rows = []
    for a in _experimental(trial):
        c = contrast(a, trial.control_arm)
        try:
            fit = logistic_adjusted(d, a, trial.control_arm)
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
            continue  # e.g. perfect separation: no adjusted estimate
        if not fit["converged"]:
            continue
        kw = dict(analysis="adjusted_country", visit=VISIT, arm=c, n=fit["n"])
        o, rd = fit["odds_ratio"], fit["risk_difference"]
        rows += [
            result_row(ENDPOINT, "odds_ratio", o[0], lower=o[1], upper=o[2], **kw),
            result_row(ENDPOINT, "risk_difference", 100 * rd[0], lower=100 * rd[1],
                       upper=100 * rd[2], **kw),
            result_row(ENDPOINT, "p_value", fit["p_value"], **kw),
            result_row(ENDPOINT, "n_strata", fit["n_strata"], **kw),
        ]
    return rows


def mi_wide(trial) -> pd.DataFrame:
    """ITT patients x (VAS, ODI at baseline, earlier visits and month 12), NaN if missing."""
    d = population(trial, "ITT")
    q = trial.adqs[trial.adqs["PARAMCD"].isin(["VAS", "ODI"])
                   & trial.adqs["AVISITN"].isin([*EARLIER_VISITS, VISIT])]
    w = q.pivot_table(index="USUBJID", columns=["PARAMCD", "AVISITN"], values="AVAL",
                      aggfunc="first")
    w.columns = [f"{p}_{v}" for p, v in w.columns]
    wanted = [f"{p}_{v}" for p in ("VAS", "ODI") for v in (*EARLIER_VISITS, VISIT)]
    w = w.reindex(index=d["USUBJID"], columns=wanted)
    w.insert(0, "ARM", d["ARM"].to_numpy())
    return w


def multiple_imputation(trial, m: int = N_IMPUTATIONS, seed: int = MI_SEED) -> list[dict]:
    """MI of month-12 VAS and ODI per arm (MICE-PMM), responder per set, Rubin's rules."""
    w = mi_wide(trial)
    per_arm = {}
    for i, a in enumerate(trial.arms):
        g = w[w["ARM"] == a].drop(columns="ARM")
        g = g.loc[:, g.notna().sum() >= 2]  # a visit never observed in an arm is not used
        imps = mice_pmm(g, n_imputations=m, n_iter=MI_ITERATIONS, seed=seed + i,
                        donors=MI_DONORS)
        per_arm[a] = [responder(x["VAS_0"], x[f"VAS_{VISIT}"], x["ODI_0"], x[f"ODI_{VISIT}"])
                      for x in imps]
    rows = []
    kw = dict(analysis="mi", visit=VISIT)
    for a in trial.arms:
        props = [float(np.nanmean(r)) for r in per_arm[a]]
        n = len(per_arm[a][0])
        pool = rubin_pool(props, [p * (1 - p) / n for p in props])
        rows.append(result_row(ENDPOINT, "percent", 100 * pool.estimate, arm=a, n=n,
                               lower=100 * max(pool.lower, 0), upper=100 * min(pool.upper, 1),
                               **kw))
    for a in _experimental(trial):
        c = contrast(a, trial.control_arm)
        est, var = [], []
        for r1, r2 in zip(per_arm[a], per_arm[trial.control_arm], strict=True):
            p1, p2 = float(np.nanmean(r1)), float(np.nanmean(r2))
            est.append(p1 - p2)
            var.append(p1 * (1 - p1) / len(r1) + p2 * (1 - p2) / len(r2))
        pool = rubin_pool(est, var)
        n = len(per_arm[a][0]) + len(per_arm[trial.control_arm][0])
        rows += [
            result_row(ENDPOINT, "risk_difference", 100 * pool.estimate, arm=c, n=n,
                       lower=100 * pool.lower, upper=100 * pool.upper, **kw),
            result_row(ENDPOINT, "p_value", pool.p_value, arm=c, n=n, **kw),
            result_row(ENDPOINT, "fmi", pool.fmi, arm=c, n=n, **kw),
        ]
    rows.append(result_row(ENDPOINT, "n_imputations", m, **kw))
    return rows


def _bayes_rows(counts: dict, trial, prior=DEFAULT_PRIOR) -> list[dict]:
    kw = dict(analysis="bayes", visit=VISIT)
    rows = [result_row(ENDPOINT, "prior_a", prior[0], **kw),
            result_row(ENDPOINT, "prior_b", prior[1], **kw)]
    for a in _experimental(trial):
        (x1, n1, _), (x2, n2, _) = counts[a], counts[trial.control_arm]
        post = rd_posterior(x1, n1, x2, n2, prior=prior)
        c = contrast(a, trial.control_arm)
        rows += [
            result_row(ENDPOINT, "risk_difference", 100 * post.median, lower=100 * post.lower,
                       upper=100 * post.upper, arm=c, n=n1 + n2, **kw),
            result_row(ENDPOINT, "posterior_mean", 100 * post.mean, arm=c, n=n1 + n2, **kw),
            result_row(ENDPOINT, "prob_better", post.prob_positive, arm=c, n=n1 + n2, **kw),
        ]
    return rows


def tipping_label(p_exp: float, p_ctl: float) -> str:
    """The ``group`` label of a tipping-point grid cell."""
    return f"p_exp={p_exp:.1f};p_ctl={p_ctl:.1f}"


def _tipping_rows(counts: dict, trial, rates=TIPPING_RATES) -> list[dict]:
    """Fill the missing of each arm with round(rate x missing) responders, for each pair."""
    rows = []
    kw = dict(analysis="tipping_point", visit=VISIT)
    ctl = trial.control_arm
    for a in _experimental(trial):
        (x1, n1, m1), (x2, n2, m2) = counts[a], counts[ctl]
        c = contrast(a, ctl)
        fav = {"favours_exp": 0, "favours_ctl": 0}
        for r1 in rates:
            for r2 in rates:
                y1, y2 = x1 + round(r1 * m1), x2 + round(r2 * m2)
                t1, t2 = n1 + m1, n2 + m2
                rd, lo, hi = newcombe_rd_ci(y1, t1, y2, t2)
                p = chisq_yates(y1, t1, y2, t2)[1]
                g = tipping_label(r1, r2)
                rows += [
                    result_row(ENDPOINT, "risk_difference", 100 * rd, lower=100 * lo,
                               upper=100 * hi, arm=c, group=g, n=t1 + t2, **kw),
                    result_row(ENDPOINT, "p_value", p, arm=c, group=g, n=t1 + t2, **kw),
                ]
                if p < ALPHA:
                    fav["favours_exp" if rd > 0 else "favours_ctl"] += 1
        for g, k in fav.items():
            rows.append(result_row(ENDPOINT, "n_significant", k, arm=c, group=g,
                                   n=len(rates) ** 2, **kw))
    return rows


def responder_rows(trial) -> list[dict]:
    """Every month-12 responder statistic (primary and sensitivity analyses)."""
    itt = responder_data(trial, "ITT")
    pp = responder_data(trial, "PP")
    obs = _counts(itt, trial.arms)
    rows = _binary_rows("primary", "ITT", obs, trial)
    rows += _binary_rows("nri", "ITT", _counts(itt, trial.arms, nri=True), trial)
    rows += _binary_rows("pp", "PP", _counts(pp, trial.arms), trial)
    rows.append(result_row(ENDPOINT, "min_stratum", MIN_STRATUM, analysis="adjusted_country",
                           visit=VISIT))
    rows += _adjusted_rows(itt, trial)
    rows += multiple_imputation(trial)
    rows += _bayes_rows(obs, trial)
    rows += _tipping_rows(obs, trial)
    return rows


# ---------------------------------------------------------------- MRI T2
def t2_data(trial) -> pd.DataFrame:
    """One row per ITT patient: ARM, COUNTRY, T2 at baseline (``BASE_T2``) and month 12."""
    d = population(trial, "ITT")
    m = trial.admri[trial.admri["PARAMCD"] == "T2"]
    w = m.pivot_table(index="USUBJID", columns="AVISITN", values="AVAL", aggfunc="mean")
    w = w.reindex(index=d["USUBJID"], columns=[0, VISIT])
    out = d[["USUBJID", "ARM", "COUNTRY"]].copy()
    out["BASE_T2"] = w[0].to_numpy(float)
    out["T2"] = w[VISIT].to_numpy(float)
    out["CHG"] = out["T2"] - out["BASE_T2"]
    return out


def t2_rows(trial) -> list[dict]:
    """Descriptive T2 by arm and visit, and the ANCOVA of month-12 T2."""
    from scipy import stats

    d = t2_data(trial)
    rows = []
    kw = dict(analysis="descriptive")
    for a in trial.arms:
        g = d[d["ARM"] == a]
        for visit, col, group in ((0, "BASE_T2", ""), (VISIT, "T2", ""), (VISIT, "CHG", "change")):
            v = g[col].dropna()
            n = len(v)
            mean = float(v.mean()) if n else math.nan
            sd = float(v.std(ddof=1)) if n > 1 else math.nan
            lo = hi = math.nan
            if group == "change" and n > 1:
                half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
                lo, hi = mean - half, mean + half
            common = dict(arm=a, visit=visit, group=group, n=n, **kw)
            rows += [result_row(T2, "n", n, **common),
                     result_row(T2, "mean", mean, lower=lo, upper=hi, **common),
                     result_row(T2, "sd", sd, **common)]
    fit = ancova(d, "T2", "ARM", list(trial.arms), trial.control_arm, baseline="BASE_T2",
                 factors=["COUNTRY"])
    kw = dict(analysis="primary", visit=VISIT)
    for a, e in fit.adjusted_means.items():
        rows.append(result_row(T2, "adjusted_mean", e.estimate, lower=e.lower, upper=e.upper,
                               arm=a, n=int((d.dropna(subset=["T2", "BASE_T2"])["ARM"] == a)
                                            .sum()), **kw))
    for a, e in fit.contrasts.items():
        c = contrast(a, trial.control_arm)
        rows += [result_row(T2, "mean_difference", e.estimate, lower=e.lower, upper=e.upper,
                            arm=c, n=fit.n, **kw),
                 result_row(T2, "p_value", e.p_value, arm=c, n=fit.n, **kw),
                 result_row(T2, "residual_sd", fit.sigma, arm=c, n=fit.n, **kw)]
    return rows


# ---------------------------------------------------------------- decision
def decision_rows(rows: list[dict], trial) -> list[dict]:
    """The co-primary success rule applied to the primary analyses in ``rows``."""

    def pick(endpoint, stat, arm):
        for r in rows:
            if (r["endpoint"], r["analysis"], r["statistic"], r["arm"]) == (
                    endpoint, "primary", stat, arm):
                return r["value"]
        return math.nan

    out = [result_row(DECISION, "alpha", ALPHA, visit=VISIT)]
    for a in _experimental(trial):
        c = contrast(a, trial.control_arm)
        ok_resp = (pick(ENDPOINT, "p_value", c) < ALPHA
                   and pick(ENDPOINT, "risk_difference", c) > 0)
        ok_t2 = pick(T2, "p_value", c) < ALPHA and pick(T2, "mean_difference", c) > 0
        for group, ok in ((ENDPOINT, ok_resp), (T2, ok_t2), ("", ok_resp and ok_t2)):
            out.append(result_row(DECISION, "success", float(ok), arm=c, group=group,
                                  visit=VISIT))
    return out


def compute(trial) -> list[dict]:
    """All co-primary statistics (family contract)."""
    rows = responder_rows(trial) + t2_rows(trial)
    return rows + decision_rows(rows, trial)


def p_text(p: float) -> str:
    """``'p = 0.77'`` or ``'p < 0.001'`` for prose."""
    f = fmt_p(p)
    return f"p {f[0]} {f[1:]}" if f.startswith("<") else f"p = {f}"


def decision_sentence(store, arm: str, control: str) -> str:
    """The conclusion on the co-primary success rule, written from the results store."""
    c = contrast(arm, control)
    alpha = store.value(DECISION, "alpha")
    p_r = store.value(ENDPOINT, "p_value", arm=c)
    p_t = store.value(T2, "p_value", arm=c)
    rd = store.get(ENDPOINT, "risk_difference", arm=c)
    md = store.get(T2, "mean_difference", arm=c)
    ok_r = store.value(DECISION, "success", arm=c, group=ENDPOINT) == 1
    ok_t = store.value(DECISION, "success", arm=c, group=T2) == 1
    ok = store.value(DECISION, "success", arm=c, group="") == 1
    parts = [
        f"the responder difference was {fmt_num(rd['value'])} percentage points "
        f"(95% CI {fmt_ci(rd['lower'], rd['upper'])}; {p_text(p_r)}), "
        f"{'meeting' if ok_r else 'not meeting'} its criterion",
        f"the adjusted T2 difference was {fmt_num(md['value'])} ms "
        f"(95% CI {fmt_ci(md['lower'], md['upper'])}; {p_text(p_t)}), "
        f"{'meeting' if ok_t else 'not meeting'} its criterion",
    ]
    verdict = ("Both co-primary endpoints met the success criterion" if ok else
               "The trial did not meet its co-primary success criterion")
    alpha_txt = fmt_num(alpha, 2)
    return (f"{verdict} (superiority of {arm} over {control} on both endpoints, each at a "
            f"two-sided {alpha_txt} level): {parts[0]}; {parts[1]}.")


def tipping_sentence(store, arm: str, control: str) -> str:
    """What the tipping-point grid shows, written from the results store."""
    kw = dict(analysis="tipping_point", arm=contrast(arm, control))
    alpha = store.value(DECISION, "alpha")
    row = store.get(ENDPOINT, "n_significant", group="favours_exp", **kw)
    n_exp, cells = int(row["value"]), int(row["n"])
    n_ctl = int(store.value(ENDPOINT, "n_significant", group="favours_ctl", **kw))
    head = (f"In the tipping-point analysis, over {cells} combinations of assumed response "
            f"rates among the patients without a month-12 response status, ")
    if n_exp == n_ctl == 0:
        return head + (f"the chi-square test reached p < {fmt_num(alpha, 2)} in none")
    return head + (f"p < {fmt_num(alpha, 2)} in {n_exp} favouring {arm} and in {n_ctl} "
                   f"favouring {control}")


# ---------------------------------------------------------------- tables
def _npct(store, analysis, arm) -> str:
    try:
        pct = store.get(ENDPOINT, "percent", analysis=analysis, arm=arm)
    except ResultNotFound:
        return "–"
    try:
        x = store.value(ENDPOINT, "n_responders", analysis=analysis, arm=arm)
        n = store.value(ENDPOINT, "N", analysis=analysis, arm=arm)
        return f"{int(x)}/{int(n)} ({fmt_num(pct['value'], 0)}%)"
    except ResultNotFound:
        return f"{fmt_num(pct['value'], 0)}%"


def risk_differences(store, arms, control):
    """Yield ``(arm, contrast, analysis, label, row)`` for every stored responder RD.

    Analyses follow :data:`ANALYSES`; those not in the store (e.g. an adjusted model that
    could not be fitted) are skipped.
    """
    for a in [x for x in arms if x != control]:
        c = contrast(a, control)
        for analysis, label in ANALYSES.items():
            try:
                rd = store.get(ENDPOINT, "risk_difference", analysis=analysis, arm=c)
            except ResultNotFound:
                continue
            yield a, c, analysis, label, rd


def responder_table(store, arms, control) -> pd.DataFrame:
    """Responders at month 12 in every analysis: n/N (%) per arm, RD (95 % CI) and p; the
    Bayesian analysis gives no p-value but P(RD > 0), in a column of its own."""
    several = sum(a != control for a in arms) > 1
    recs = []
    for a, c, analysis, label, rd in risk_differences(store, arms, control):
        rec = {"Analysis": label}
        if several:
            rec["Contrast"] = c
        for arm in (a, control):
            rec[arm] = _npct(store, analysis, arm)
        rec[RD_HEADER] = f"{fmt_num(rd['value'])} ({fmt_ci(rd['lower'], rd['upper'])})"
        if analysis == "bayes":
            rec["p"] = "–"
            pb = store.value(ENDPOINT, "prob_better", analysis="bayes", arm=c)
            rec[PROB_HEADER] = fmt_num(pb, 2)
        else:
            rec["p"] = fmt_p(store.value(ENDPOINT, "p_value", analysis=analysis, arm=c))
            rec[PROB_HEADER] = ""
        recs.append(rec)
    df = pd.DataFrame(recs)
    if PROB_HEADER in df and not df[PROB_HEADER].astype(bool).any():
        df = df.drop(columns=PROB_HEADER)
    return df


#: Column headers of the responder tables: units written out, P(RD > 0) apart from p-values.
RD_HEADER = "RD, percentage points (95% CI)"
PROB_HEADER = "P(RD\u00a0>\u00a00)"


def effect_table(store, arms, control) -> pd.DataFrame:
    """Primary analysis effect sizes (CONSORT 17a/b) and the country-adjusted odds ratio, each
    with its 95 % CI, and in a column of its own the p-value of the test that goes with it:
    Yates chi-square for the risk difference, Fisher's exact test (conditional on the margins)
    for the odds ratio, the Wald test of the arm coefficient for the adjusted odds ratio."""
    recs = []
    for a in [x for x in arms if x != control]:
        c = contrast(a, control)
        items = [("Risk difference, percentage points", "risk_difference", "primary", 1,
                  "p_value"),
                 ("Risk ratio", "risk_ratio", "primary", 2, None),
                 ("Odds ratio", "odds_ratio", "primary", 2, "p_value_fisher"),
                 ("Odds ratio, adjusted for country", "odds_ratio", "adjusted_country", 2,
                  "p_value")]
        for label, stat, analysis, digits, p_stat in items:
            try:
                r = store.get(ENDPOINT, stat, analysis=analysis, arm=c)
            except ResultNotFound:
                continue
            try:
                p = fmt_p(store.value(ENDPOINT, p_stat, analysis=analysis, arm=c)) if p_stat \
                    else ""
            except ResultNotFound:
                p = ""
            recs.append({"Contrast": c, "Measure": label,
                         "Estimate": fmt_num(r["value"], digits),
                         "95% CI": fmt_ci(r["lower"], r["upper"], digits), "p": p})
    df = pd.DataFrame(recs)
    if df["Contrast"].nunique() == 1:
        df = df.drop(columns="Contrast")
    return df


def t2_table(store, arms, control) -> pd.DataFrame:
    """T2 (ms) by arm: baseline, month 12 and change, mean (SD), and the ANCOVA."""

    def msd(arm, visit, group=""):
        kw = dict(analysis="descriptive", arm=arm, visit=visit, group=group)
        n = store.value(T2, "n", **kw)
        return (f"{fmt_num(store.value(T2, 'mean', **kw))} "
                f"({fmt_num(store.value(T2, 'sd', **kw))}); {fmt_int(n)}")

    recs = []
    for a in arms:
        am = store.get(T2, "adjusted_mean", arm=a)
        recs.append({"Arm": a, "Baseline": msd(a, 0), "Month 12": msd(a, VISIT),
                     "Change": msd(a, VISIT, "change"),
                     "Adjusted mean (95% CI)": f"{fmt_num(am['value'])} "
                                               f"({fmt_ci(am['lower'], am['upper'])})"})
    for a in [x for x in arms if x != control]:
        c = contrast(a, control)
        md = store.get(T2, "mean_difference", arm=c)
        recs.append({"Arm": f"Difference, {c}", "Baseline": "", "Month 12": "", "Change": "",
                     "Adjusted mean (95% CI)": f"{fmt_num(md['value'])} "
                                               f"({fmt_ci(md['lower'], md['upper'])}); "
                                               f"{p_text(store.value(T2, 'p_value', arm=c))}"})
    return pd.DataFrame(recs)


def estimand_table(arms, control) -> pd.DataFrame:
    """The two co-primary estimands by ICH E9(R1) attribute."""
    treat = " vs ".join([*(a for a in arms if a != control), control])
    return pd.DataFrame({
        "Attribute": ["Population", "Treatment", "Variable", "Intercurrent events",
                      "Missing month-12 data", "Population-level summary"],
        "Responder at month 12": [
            "Chronic discogenic low back pain; all randomised (ITT)",
            f"Single intradiscal procedure: {treat}",
            "VAS improved ≥ 20 % and ≥ 20 mm, or ODI improved ≥ 20 %",
            "Procedure not received, co-treatments: treatment policy",
            "Observed cases; sensitivity: NRI, MI, per-protocol, tipping point",
            "Risk difference (also RR, OR)",
        ],
        "MRI T2 at month 12": [
            "Same (all randomised)",
            f"Same: {treat}",
            "T2 relaxation time of the treated disc (ms)",
            "Same: treatment policy",
            "Complete cases: patients with baseline and month-12 MRI",
            "Difference in means adjusted for baseline T2 and country",
        ],
    })


def tipping_grid(store, arm: str, control: str, stat: str = "p_value") -> pd.DataFrame:
    """Tipping-point grid: rows = assumed rate among the missing (experimental arm),
    columns = assumed rate among the missing (control arm)."""
    rows = store.select(ENDPOINT, analysis="tipping_point", arm=contrast(arm, control),
                        statistic=stat)
    rows = rows[rows["group"].str.startswith("p_exp=")]
    parts = rows["group"].str.extract(r"p_exp=([\d.]+);p_ctl=([\d.]+)").astype(float)
    grid = pd.DataFrame({"exp": parts[0].to_numpy(), "ctl": parts[1].to_numpy(),
                         "value": rows["value"].to_numpy()})
    return grid.pivot(index="exp", columns="ctl", values="value")


def tables(trial, store) -> dict:
    """Tables written to ``_output/tables``."""
    arms, ctl = trial.arms, trial.control_arm
    out = {
        "coprimary_estimands": estimand_table(arms, ctl),
        "coprimary_responders": responder_table(store, arms, ctl),
        "coprimary_effects": effect_table(store, arms, ctl),
        "coprimary_t2": t2_table(store, arms, ctl),
    }
    for a in _experimental(trial):
        g = tipping_grid(store, a, ctl)
        g.index.name = f"rate missing {a} \\ {ctl}"
        suffix = "" if len(arms) == 2 else f"_{_experimental(trial).index(a) + 1}"
        out[f"coprimary_tipping_p{suffix}"] = g.reset_index()
    return out


def figures(trial, store) -> dict:
    """Figures written to ``_output/figures``."""
    from analysis.displays import coprimary_plots as cp

    arms, ctl = trial.arms, trial.control_arm
    return {
        "coprimary_forest": cp.forest_rd(store, arms, ctl),
        "coprimary_tipping": cp.tipping_point(store, arms, ctl),
        "coprimary_t2": cp.t2_individual(trial),
    }
