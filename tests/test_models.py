"""stats/models (svyglm, regtermtest, svyttest) against R's survey package: the golden block 'models' of
tests/golden/make_golden.R (svyglm, confint, regTermTest, svyttest) on R's api data and on the bundled waves.
Logistic fits and raked weights at 1e-7 relative; closed forms (gaussian fits, t-tests) at 1e-9."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from conftest import models_api_designs, models_golden, models_wave_designs
from survey_audit.errors import DesignError
from survey_audit.stats import regtermtest, svyglm, svyttest
from survey_audit.stats import weighting as W
from survey_audit.stats.design import svydesign
from survey_audit.stats.models import parse_formula

GOLDEN = Path(__file__).resolve().parent / "golden"
CLOSED, ITERATIVE = 1e-9, 1e-7


R = models_golden()
API = models_api_designs()
CLUS1, DCLUS1, DSTRAT, RAKED = API["clus1"], API["dclus1"], API["dstrat"], API["raked"]


def close(actual, expected, rtol):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol)


# ---- svyglm and regTermTest ---------------------------------------------------------------------------------------

GLM_CASES = {
    "dclus1_api00_ell_meals_stype": (lambda: DCLUS1, "api00 ~ ell + meals + stype", "gaussian", None),
    "dstrat_schwide_ell_stype_logit": (lambda: DSTRAT, "sch_wide_yes ~ ell + stype", "quasibinomial", None),
    "dclus1_awards_ell_mobility_logit": (lambda: DCLUS1, "awards ~ ell + mobility", "quasibinomial", None),
    "dclus1_domain_comp_imp_yes_api00_ell_stype": (
        lambda: DCLUS1,
        "api00 ~ ell + stype",
        "gaussian",
        "`comp.imp` == 'Yes'",
    ),
    "dclus1_missing_ell_api00_ell_na_stype": (lambda: DCLUS1, "api00 ~ ell_na + stype", "gaussian", None),
    "rake_api00_ell_stype": (lambda: RAKED, "api00 ~ ell + stype", "gaussian", None),
    "rake_awards_ell_logit": (lambda: RAKED, "awards_yes ~ ell", "quasibinomial", None),
    "rake_domain_comp_imp_yes_api00_ell_stype": (
        lambda: RAKED,
        "api00 ~ ell + stype",
        "gaussian",
        "`comp.imp` == 'Yes'",
    ),
    "jk1_api00_ell_stype": (lambda: W.jk1_replicates(DCLUS1), "api00 ~ ell + stype", "gaussian", None),
}


@pytest.mark.parametrize("case", list(GLM_CASES))
def test_svyglm_coefficients_intervals_and_term_tests_equal_r(case):
    golden = R["api"]["glm"][case]
    design, formula, family, domain = GLM_CASES[case]
    iterative = family == "quasibinomial" or case.startswith("rake")  # a logistic fit, or raked weights
    _check_glm(svyglm(design(), formula, family=family, domain=domain), golden, ITERATIVE if iterative else CLOSED)


def _check_glm(fit, golden, rtol):
    table = fit.coefficients()
    assert table["term"].tolist() == golden["names"]
    assert fit.df_residual == golden["df_residual"] and set(table["df"]) == {golden["df_residual"]}
    assert fit.n == golden["n"]
    close(table["estimate"], golden["coef"], rtol)
    for column, key in (("se", "se"), ("statistic", "t"), ("p", "p")):
        close(table[column], golden[key], rtol)
    if golden["deff"]:
        close(table["deff"], golden["deff"], rtol)
    else:  # R gives no design effect for a replicate design
        assert table["deff"].isna().all()
    close(table[["ci_low", "ci_high"]].to_numpy(), golden["ci_95"], rtol)
    other = fit.coefficients(level=golden["level"])
    close(other[["ci_low", "ci_high"]].to_numpy(), golden["ci_level"], rtol)
    for expected in golden["tests"]:
        terms = [expected["terms"]] if isinstance(expected["terms"], str) else expected["terms"]
        row = regtermtest(fit, terms).iloc[0]
        close(
            [row["statistic"], row["ndf"], row["ddf"], row["p"]],
            [expected[k] for k in ("statistic", "ndf", "ddf", "p")],
            rtol,
        )


def test_a_wald_test_of_one_coefficient_is_its_t_squared():
    fit = svyglm(DCLUS1, "api00 ~ ell + meals")
    row = regtermtest(fit, "ell").iloc[0]
    t = fit.coefficients().set_index("term").loc["ell", "statistic"]
    assert row["statistic"] == pytest.approx(t**2, rel=1e-12)
    assert row["estimate"] == fit.coef[1] and row["direction"] == "negative"
    assert row["formula"] == "api00 ~ ell + meals" and row["family"] == "gaussian"
    assert np.isnan(regtermtest(fit, ["ell", "meals"]).iloc[0]["estimate"])
    chisq = regtermtest(fit, ["ell"], df=math.inf).iloc[0]
    assert chisq["statistic"] == pytest.approx(t**2, rel=1e-12) and chisq["ddf"] == math.inf


# ---- svyttest -----------------------------------------------------------------------------------------------------

TTEST_CASES = {
    "dclus1_api00_by_sch_wide": (lambda: DCLUS1, "api00", "sch.wide", None),
    "dstrat_enroll_by_comp_imp": (lambda: DSTRAT, "enroll", "comp.imp", None),
    "dclus1_domain_E_api00_by_awards": (lambda: DCLUS1, "api00", "awards", "stype == 'E'"),
    "rake_api00_by_awards": (lambda: RAKED, "api00", "awards", None),
}


@pytest.mark.parametrize("case", list(TTEST_CASES))
def test_svyttest_equals_r(case):
    golden = R["api"]["ttest"][case]
    design, variable, group, domain = TTEST_CASES[case]
    row = svyttest(design(), variable, group, domain=domain).iloc[0]
    rtol = ITERATIVE if case.startswith("rake") else CLOSED
    close(
        [row["estimate"], row["se"], row["statistic"], row["p"], row["ci_low"], row["ci_high"]],
        [golden["estimate"], golden["se"], golden["statistic"], golden["p"], *golden["ci"]],
        rtol,
    )
    assert row["df"] == golden["df"]


def test_svyttest_refuses_a_group_of_three_levels():
    with pytest.raises(DesignError, match="two levels"):
        svyttest(DCLUS1, "api00", "stype")


# ---- the bundled waves --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def waves():
    return models_wave_designs()


def test_the_raked_wave2_design_is_rs(waves):
    golden = json.loads((GOLDEN / "waves.json").read_text(encoding="utf-8"))["wave2_weights"]
    close(waves["wave2_weighted"].weights, golden, ITERATIVE)


def test_wave1_buyers_model_equals_r(waves):
    golden = R["waves"]["wave1"]
    fit = svyglm(waves["wave1"], "buyers_per_day ~ advertised_online + region")
    _check_glm(fit, golden["buyers_on_online_region"], CLOSED)


@pytest.mark.parametrize("weighting", ["unweighted", "weighted"])
def test_wave2_models_and_ttest_equal_r(weighting, waves):
    golden = R["waves"][f"wave2_{weighting}"]
    design = waves[f"wave2_{weighting}"]
    rtol = CLOSED if weighting == "unweighted" else ITERATIVE
    fit = svyglm(design, "buyers_per_day ~ advertised_online + entry_cohort")
    _check_glm(fit, golden["buyers_on_online_cohort"], rtol)
    _check_glm(
        svyglm(design, "online ~ entry_cohort + region", family="quasibinomial"),
        golden["online_on_cohort_region_logit"],
        ITERATIVE,
    )
    t = svyttest(design, "buyers_per_day", "advertised_online").iloc[0]
    expected = golden["ttest_buyers_by_online"]
    close(
        [t["estimate"], t["se"], t["statistic"], t["p"], t["ci_low"], t["ci_high"]],
        [expected["estimate"], expected["se"], expected["statistic"], expected["p"], *expected["ci"]],
        rtol,
    )
    assert t["df"] == expected["df"]


# ---- formulas and refusals ----------------------------------------------------------------------------------------


def test_formula_parsing_accepts_main_effects_and_refuses_the_rest():
    f = parse_formula("y ~ x + factor(g) + `a b` + relevel(h, ref = 'no')")
    assert f.response == "y" and [t.column for t in f.terms] == ["x", "g", "a b", "h"]
    assert f.labels == ["x", "factor(g)", "a b", 'relevel(h, ref = "no")']
    assert parse_formula("y ~ 1").terms == ()
    for bad in ("y ~ x:z", "y ~ x * z", "y ~ I(x^2)", "y ~ x - 1", "y x", "log(y) ~ x"):
        with pytest.raises(DesignError):
            parse_formula(bad)


def test_factor_coding_follows_r_treatment_contrasts():
    fit = svyglm(DCLUS1, "api00 ~ sch_wide_yes + factor(yr.rnd)")
    assert fit.columns == ["(Intercept)", "sch_wide_yesTRUE", "factor(yr.rnd)Yes"]


def test_relevel_changes_the_reference_as_r_treatment_coding_does(waves):
    default = svyglm(waves["wave2_unweighted"], "buyers_per_day ~ advertised_online + entry_cohort")
    flipped = svyglm(waves["wave2_unweighted"], "buyers_per_day ~ relevel(advertised_online, 'yes') + entry_cohort")
    assert default.columns[1] == "advertised_onlineyes"
    assert flipped.columns[1] == 'relevel(advertised_online, ref = "yes")no'
    close(flipped.coef[1], -default.coef[1], 1e-12)
    close(np.diag(flipped.vcov)[1:], np.diag(default.vcov)[1:], 1e-12)
    by_column = regtermtest(flipped, "advertised_online").iloc[0]
    assert by_column["terms"] == 'relevel(advertised_online, ref = "yes")' and by_column["direction"] == "negative"
    close(by_column["p"], regtermtest(default, "advertised_online").iloc[0]["p"], 1e-12)
    with pytest.raises(DesignError, match="reference level"):
        svyglm(waves["wave2_unweighted"], "buyers_per_day ~ relevel(advertised_online, 'maybe')")


def test_refusals_are_clear():
    with pytest.raises(DesignError, match="not in the data"):
        svyglm(DCLUS1, "api00 ~ nope")
    with pytest.raises(DesignError, match="outside 0 to 1"):
        svyglm(DCLUS1, "api00 ~ ell", family="quasibinomial")
    doubled = svydesign(CLUS1.assign(ell2=CLUS1["ell"] * 2), weights="pw", cluster="dnum")
    with pytest.raises(DesignError, match="linearly dependent"):
        svyglm(doubled, "api00 ~ ell + ell2")
    two_districts = CLUS1["dnum"].isin(sorted(CLUS1["dnum"].unique())[:2]).to_numpy()
    with pytest.raises(DesignError, match="residual degrees of freedom"):
        svyglm(DCLUS1, "api00 ~ ell", domain=two_districts)  # degf 1, two coefficients: df.residual 0
    with pytest.raises(DesignError, match="terms to test are not in the model"):
        regtermtest(svyglm(DCLUS1, "api00 ~ ell"), "stype")
    with pytest.raises(DesignError, match="single value"):
        svyglm(DCLUS1, "api00 ~ ell + stype", domain="stype == 'H'")


def test_a_fit_on_few_predictor_patterns_runs_on_their_sums_and_equals_statsmodels():
    """Oracle: statsmodels' weighted GLM on every row (a logistic fit's coefficients do not depend on how the
    rows are grouped). 20,000 rows share 6 predictor patterns (an ordered score by a yes/no), so the Newton
    steps run on 6 sums; the fitted means come back one per row."""
    import statsmodels.api as sm

    from survey_audit.stats.models import _distinct_rows, glm_fit

    rng = np.random.default_rng(7)
    n = 20_000
    score = rng.integers(1, 4, n).astype(float)
    flag = rng.integers(0, 2, n).astype(float)
    X = np.column_stack([np.ones(n), score, flag])
    w = rng.lognormal(0, 0.5, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1 + 0.3 * score + 0.5 * flag)))).astype(float)
    patterns, inverse = _distinct_rows(X)
    assert len(patterns) == 6 and np.array_equal(patterns[inverse], X)
    for family, sm_family in (("quasibinomial", sm.families.Binomial()), ("gaussian", sm.families.Gaussian())):
        beta, mu, Ainv, _, converged = glm_fit(X, y, w, family)
        reference = sm.GLM(y, X, family=sm_family, var_weights=w).fit(tol=1e-14)
        assert converged
        np.testing.assert_allclose(beta, reference.params, rtol=1e-10)
        np.testing.assert_allclose(mu, reference.fittedvalues, rtol=1e-10)
        working = w * (mu * (1 - mu) if family == "quasibinomial" else 1.0)
        np.testing.assert_allclose(Ainv, np.linalg.inv(X.T @ (working[:, None] * X)), rtol=1e-10)
