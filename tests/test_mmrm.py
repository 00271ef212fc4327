"""Tests of the MMRM estimator against exact cases and direct dense computations."""

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import linalg

from analysis.stats.mmrm import MMRM, fit_change_mmrm

VISITS = [1, 3, 6]
SIGMA = np.array([[100.0, 60.0, 40.0], [60.0, 120.0, 70.0], [40.0, 70.0, 150.0]])


def _trial(n=60, seed=3):
    """Complete balanced long data: two arms, baseline, three countries."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        arm = "A" if i % 2 else "B"
        base = rng.normal(60, 10)
        country = ["FR", "ES", "IT"][i % 3]
        e = rng.multivariate_normal(np.zeros(3), SIGMA)
        for k, v in enumerate(VISITS):
            chg = -5 * (arm == "A") - 0.3 * (base - 60) + 2 * k + e[k]
            rows.append({"USUBJID": f"s{i:03d}", "AVISITN": v, "TRT01P": arm, "BASE": base,
                         "COUNTRY": country, "CHG": chg})
    return pd.DataFrame(rows)


def _dense_reml(y, X, subject, visit, sigma, visits):
    """REML log-likelihood from the full N x N block-diagonal covariance (independent code)."""
    order = np.lexsort((visit, subject))
    y, X, subject, visit = y[order], X[order], subject[order], visit[order]
    pos = {v: k for k, v in enumerate(visits)}
    blocks = []
    for s in pd.unique(subject):
        idx = [pos[v] for v in visit[subject == s]]
        blocks.append(sigma[np.ix_(idx, idx)])
    V = linalg.block_diag(*blocks)
    Vi = np.linalg.inv(V)
    xtvx = X.T @ Vi @ X
    beta = np.linalg.solve(xtvx, X.T @ Vi @ y)
    r = y - X @ beta
    n, p = X.shape
    return -0.5 * ((n - p) * math.log(2 * math.pi) + np.linalg.slogdet(V)[1]
                   + np.linalg.slogdet(xtvx)[1] + r @ Vi @ r)


def _incomplete_fixture(seed=5):
    rng = np.random.default_rng(seed)
    d = _trial(30, seed)
    d = d.drop(index=rng.choice(len(d), size=25, replace=False)).reset_index(drop=True)
    X = np.column_stack([(d.AVISITN == v) * 1.0 for v in VISITS]
                        + [(d.TRT01P == "A") * 1.0, d.BASE - 60])
    return d, X


def test_balanced_complete_equals_per_visit_ancova():
    d = _trial()
    fit = fit_change_mmrm(d, arms=["A", "B"], control="B", covariates=("COUNTRY",),
                          covariates_by_visit=True)
    assert fit.model.converged
    for v in VISITS:
        dv = d[d.AVISITN == v]
        X = sm.add_constant(pd.DataFrame({
            "A": (dv.TRT01P == "A") * 1.0, "base": dv.BASE,
            "FR": (dv.COUNTRY == "FR") * 1.0, "IT": (dv.COUNTRY == "IT") * 1.0}))
        ols = sm.OLS(dv.CHG, X).fit()
        row = fit.contrasts.set_index("visit").loc[v]
        assert row["estimate"] == pytest.approx(ols.params["A"], rel=1e-9)
        assert row["se"] == pytest.approx(ols.bse["A"], rel=1e-6)
        assert row["df"] == pytest.approx(ols.df_resid, rel=1e-4)  # n - k = 55
        assert row["p_value"] == pytest.approx(ols.pvalues["A"], rel=1e-4)
        lo, hi = ols.conf_int().loc["A"]
        assert row["lower"] == pytest.approx(lo, rel=1e-5)
        assert row["upper"] == pytest.approx(hi, rel=1e-5)


def test_reml_sigma_equals_residual_crossproduct_over_n_minus_k():
    """Complete data, same regressors per visit: the REML Sigma is E'E / (n - k)."""
    d = _trial(40, seed=8)
    fit = fit_change_mmrm(d, arms=["A", "B"], control="B", covariates=(),
                          covariates_by_visit=True)
    resid = []
    for v in VISITS:
        dv = d[d.AVISITN == v].sort_values("USUBJID")
        X = sm.add_constant(pd.DataFrame({"A": (dv.TRT01P == "A") * 1.0, "base": dv.BASE}))
        resid.append(sm.OLS(dv.CHG.to_numpy(), X.to_numpy()).fit().resid)
    E = np.column_stack(resid)
    np.testing.assert_allclose(fit.model.sigma, E.T @ E / (40 - 3), rtol=1e-6)


def test_single_visit_is_ordinary_least_squares():
    d = _trial(25, seed=2)
    d = d[d.AVISITN == 3]
    X = np.column_stack([np.ones(len(d)), (d.TRT01P == "A") * 1.0, d.BASE])
    m = MMRM(d.CHG.to_numpy(), X, d.USUBJID.to_numpy(), d.AVISITN.to_numpy()).fit()
    ols = sm.OLS(d.CHG.to_numpy(), X).fit()
    np.testing.assert_allclose(m.beta, ols.params, rtol=1e-10)
    assert m.sigma[0, 0] == pytest.approx(ols.scale, rel=1e-7)
    r = m.contrast([0, 1, 0])
    assert r["df"] == pytest.approx(22, rel=1e-5)
    assert r["p_value"] == pytest.approx(ols.pvalues[1], rel=1e-5)


def test_reml_loglik_equals_dense_computation_with_missing_visits():
    d, X = _incomplete_fixture()
    m = MMRM(d.CHG.to_numpy(), X, d.USUBJID.to_numpy(), d.AVISITN.to_numpy())
    assert len(m._patterns) > 1  # several missingness patterns
    for sigma in (SIGMA, np.diag([50.0, 80.0, 30.0]), SIGMA + 20 * np.eye(3)):
        dense = _dense_reml(d.CHG.to_numpy(), X, d.USUBJID.to_numpy(), d.AVISITN.to_numpy(),
                            sigma, VISITS)
        assert m.reml_loglik(sigma) == pytest.approx(dense, rel=1e-12)


def test_fit_is_a_maximum_and_gradient_matches_finite_differences():
    d, X = _incomplete_fixture()
    args = (d.CHG.to_numpy(), X, d.USUBJID.to_numpy(), d.AVISITN.to_numpy())
    m = MMRM(*args).fit()
    assert m.converged
    best = _dense_reml(*args, m.sigma, VISITS)
    assert m.loglik == pytest.approx(best, rel=1e-12)
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = rng.normal(size=(3, 3))
        s = m.sigma + 2.0 * (a + a.T)
        if np.linalg.eigvalsh(s).min() > 0:
            assert _dense_reml(*args, s, VISITS) < best
    # analytic gradient (vech) vs central differences of the dense log-likelihood
    theta = SIGMA[np.triu_indices(3)]
    _, g = m._vech_loglik_grad(theta)
    h = 1e-4
    for j in range(len(theta)):
        e = np.zeros(len(theta))
        e[j] = h
        fd = (_dense_reml(*args, m._unvech(theta + e), VISITS)
              - _dense_reml(*args, m._unvech(theta - e), VISITS)) / (2 * h)
        assert g[j] == pytest.approx(fd, rel=1e-5, abs=1e-8)


def test_beta_and_covariance_are_gls_at_the_fitted_sigma():
    d, X = _incomplete_fixture()
    args = (d.CHG.to_numpy(), X, d.USUBJID.to_numpy(), d.AVISITN.to_numpy())
    m = MMRM(*args).fit()
    order = np.lexsort((args[3], args[2]))
    pos = {v: k for k, v in enumerate(VISITS)}
    blocks = [m.sigma[np.ix_(idx, idx)] for idx in
              ([pos[v] for v in args[3][order][args[2][order] == s]]
               for s in pd.unique(args[2][order]))]
    gls = sm.GLS(args[0][order], X[order], sigma=linalg.block_diag(*blocks)).fit()
    np.testing.assert_allclose(m.beta, gls.params, rtol=1e-9)
    np.testing.assert_allclose(m.cov_beta, gls.normalized_cov_params, rtol=1e-8)


def test_lsmeans_are_cell_coefficients_and_arm_difference():
    d = _trial(40, seed=11).sample(frac=0.85, random_state=4)
    fit = fit_change_mmrm(d, arms=["A", "B"], control="B", covariates=("COUNTRY",))
    ls = fit.lsmeans.set_index(["visit", "arm"])
    for v in VISITS:
        diff = ls.loc[(v, "A"), "estimate"] - ls.loc[(v, "B"), "estimate"]
        row = fit.contrasts.set_index("visit").loc[v]
        assert row["estimate"] == pytest.approx(diff, rel=1e-12)
        assert row["contrast"] == "A vs B"
        assert ls.loc[(v, "A"), "n"] == ((d.AVISITN == v) & (d.TRT01P == "A")).sum()
        assert 10 < row["df"] < len(d)


def test_rejects_duplicate_visits_and_rank_deficiency():
    with pytest.raises(ValueError, match="more than one row"):
        MMRM([1.0, 2.0], np.ones((2, 1)), ["a", "a"], [1, 1])
    with pytest.raises(ValueError, match="full column rank"):
        MMRM([1.0, 2.0, 3.0], np.ones((3, 2)), ["a", "b", "c"], [1, 1, 1])


def _contrast_matrix(names, visits, arm="A", control="B"):
    L = np.zeros((len(visits), len(names)))
    for i, v in enumerate(visits):
        L[i, names.index(f"{arm}:{v}")] = 1.0
        L[i, names.index(f"{control}:{v}")] = -1.0
    return L


def test_kenward_roger_balanced_complete_is_exact():
    """Complete balanced data, same regressors at every visit: the KR adjusted covariance is
    the model-based one, per-visit t tests are the per-visit ANCOVAs (n - k df), and the
    joint F test of the arm at all q visits is Hotelling's exact F: KR gives denominator
    df n - k - q + 1 and scale (n - k - q + 1) / (n - k)."""
    d = _trial()
    fit = fit_change_mmrm(d, arms=["A", "B"], control="B", covariates=("COUNTRY",),
                          covariates_by_visit=True, df_method="kenward-roger")
    m = fit.model
    np.testing.assert_allclose(m.kenward_roger_cov(), m.cov_beta, atol=1e-10)
    for v in VISITS:
        dv = d[d.AVISITN == v]
        X = sm.add_constant(pd.DataFrame({
            "A": (dv.TRT01P == "A") * 1.0, "base": dv.BASE,
            "FR": (dv.COUNTRY == "FR") * 1.0, "IT": (dv.COUNTRY == "IT") * 1.0}))
        ols = sm.OLS(dv.CHG, X).fit()
        row = fit.contrasts.set_index("visit").loc[v]
        assert row["se"] == pytest.approx(ols.bse["A"], rel=1e-6)
        assert row["df"] == pytest.approx(ols.df_resid, rel=1e-4)  # 60 - 5 = 55
        assert row["p_value"] == pytest.approx(ols.pvalues["A"], rel=1e-4)
    m_df, lam = m.kenward_roger_df(_contrast_matrix(m.names, VISITS))
    assert m_df == pytest.approx(60 - 5 - 3 + 1, rel=1e-6)
    assert lam == pytest.approx(53 / 55, rel=1e-6)


FEV = "tests/fixtures/mmrm_fev/fev_data.csv"


def test_kenward_roger_matches_sas_proc_mixed_on_fev_data():
    """R mmrm's fev_data, FEV1 ~ ARMCD, unstructured: SAS PROC MIXED DDFM=KR gives
    3.81972492174648, SE 0.66124382270307, df 160.733266403768 (mmrm's design/ folder;
    mmrm's own test accepts relative error 1e-3). SAS stops slightly before the optimum
    (its -2 REML log-likelihood 3667.96276376 exceeds ours), hence the tolerances."""
    d = pd.read_csv(FEV)
    X = np.column_stack([np.ones(len(d)), (d.ARMCD == "TRT").to_numpy(float)])
    m = MMRM(d.FEV1.to_numpy(), X, d.USUBJID.to_numpy(), d.VISITN.to_numpy()).fit()
    assert m.converged
    assert -2 * m.loglik == pytest.approx(3667.96276376, abs=1e-4)
    assert -2 * m.loglik < 3667.96276376
    kr = m.contrast([0, 1], method="kenward-roger")
    assert kr["estimate"] == pytest.approx(3.81972492174648, rel=1e-5)
    assert kr["se"] == pytest.approx(0.66124382270307, rel=2e-4)
    assert kr["df"] == pytest.approx(160.733266403768, rel=5e-4)
    sw = m.contrast([0, 1], method="satterthwaite")
    assert sw["se"] < kr["se"]  # the adjustment inflates the model-based SE here
    with pytest.raises(ValueError, match="df method"):
        m.contrast([0, 1], method="containment")


def test_lsmeans_equal_and_proportional_weights():
    """Unequal country shares: 'proportional' LS means are predictions at the observed
    country mix, 'equal' ones average the per-country predictions equally (emmeans / SAS);
    differences between arms are the same. Checked on complete balanced data against OLS."""
    d = _trial(60, seed=4)
    d = d[~d.USUBJID.isin([f"s{i:03d}" for i in range(0, 60, 3)][:12])]  # fewer FR patients
    fits = {w: fit_change_mmrm(d, arms=["A", "B"], control="B", covariates=("COUNTRY",),
                               covariates_by_visit=True, lsmeans_weights=w,
                               df_method="satterthwaite")
            for w in ("equal", "proportional")}
    subj = d.drop_duplicates("USUBJID")
    share = subj.COUNTRY.value_counts(normalize=True)
    for v in VISITS:
        dv = d[d.AVISITN == v]
        X = pd.DataFrame({"const": 1.0, "A": (dv.TRT01P == "A") * 1.0, "base": dv.BASE,
                          "FR": (dv.COUNTRY == "FR") * 1.0, "IT": (dv.COUNTRY == "IT") * 1.0})
        ols = sm.OLS(dv.CHG, X).fit()
        for arm in ("A", "B"):
            def pred(country, arm=arm, ols=ols):
                x = np.array([1.0, arm == "A", subj.BASE.mean(), country == "FR",
                              country == "IT"], dtype=float)
                return x, float(x @ ols.params)
            equal_x = np.mean([pred(c)[0] for c in ("ES", "FR", "IT")], axis=0)
            prop_x = sum(share[c] * pred(c)[0] for c in ("ES", "FR", "IT"))
            for w, x in (("equal", equal_x), ("proportional", prop_x)):
                row = fits[w].lsmeans.set_index(["visit", "arm"]).loc[(v, arm)]
                assert row["estimate"] == pytest.approx(float(x @ ols.params), rel=1e-9)
                se = math.sqrt(x @ ols.cov_params().to_numpy() @ x)
                assert row["se"] == pytest.approx(se, rel=1e-6)
    assert not np.allclose(fits["equal"].lsmeans.estimate, fits["proportional"].lsmeans.estimate)
    np.testing.assert_allclose(fits["equal"].contrasts.estimate,
                               fits["proportional"].contrasts.estimate, rtol=1e-12)
    with pytest.raises(ValueError, match="lsmeans_weights"):
        fit_change_mmrm(d, arms=["A", "B"], control="B", lsmeans_weights="cell")


def test_continuous_covariate_balanced_complete_equals_per_visit_ancova():
    """A continuous covariate (one slope per visit) with complete, balanced data: each visit's
    contrast is the per-visit OLS ANCOVA's; with a common slope the LS means sit at its mean."""
    d = _trial(50, seed=11)
    age = {s: 30 + (i * 7) % 31 for i, s in enumerate(sorted(d.USUBJID.unique()))}
    d = d.assign(AGE=d.USUBJID.map(age).astype(float))
    d = d.assign(CHG=d.CHG + 0.2 * (d.AGE - 45))
    fit = fit_change_mmrm(d, arms=["A", "B"], control="B", continuous=("AGE",),
                          covariates_by_visit=True, df_method="kenward-roger")
    for v in VISITS:
        dv = d[d.AVISITN == v]
        X = sm.add_constant(pd.DataFrame({"A": (dv.TRT01P == "A") * 1.0, "base": dv.BASE,
                                          "age": dv.AGE}))
        ols = sm.OLS(dv.CHG, X).fit()
        row = fit.contrasts.set_index("visit").loc[v]
        assert row["estimate"] == pytest.approx(ols.params["A"], rel=1e-8)
        assert row["se"] == pytest.approx(ols.bse["A"], rel=1e-6)
        assert row["df"] == pytest.approx(ols.df_resid, rel=1e-4)  # n - 4
        # LS mean of arm B: the OLS prediction at the mean baseline and mean age
        x = np.array([1.0, 0.0, dv.BASE.mean(), dv.AGE.mean()])
        ls = fit.lsmeans.set_index(["visit", "arm"]).loc[(v, "B"), "estimate"]
        assert ls == pytest.approx(float(x @ ols.params), rel=1e-8)
    common = fit_change_mmrm(d, arms=["A", "B"], control="B", continuous=("AGE",))
    assert "AGE" in common.model.names and common.model.converged
