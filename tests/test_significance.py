"""Tests of association, trend, two-wave comparisons and multiplicity, against hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from survey_audit.errors import DesignError
from survey_audit.stats import significance as S
from survey_audit.stats.design import svydesign


def test_two_wave_difference_by_hand():
    first = {"estimate": 0.30, "se": 0.05, "df": 10}
    second = {"estimate": 0.45, "se": 0.04, "df": 20}
    row = S.compare_waves(first, second).iloc[0]
    v1, v2 = 0.05**2, 0.04**2
    df = (v1 + v2) ** 2 / (v1**2 / 10 + v2**2 / 20)
    t = 0.15 / np.sqrt(v1 + v2)
    assert row["difference"] == pytest.approx(0.15)
    assert row["se"] == pytest.approx(np.sqrt(0.0041))
    assert row["df"] == pytest.approx(df)
    assert row["p"] == pytest.approx(2 * stats.t.sf(t, df))
    q = stats.t.ppf(0.975, df)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.15 - q * np.sqrt(0.0041), 0.15 + q * np.sqrt(0.0041)))
    assert S.compare_waves(first, second, df_method="min").iloc[0]["df"] == 10
    z = S.compare_waves(first, second, df_method="normal").iloc[0]
    assert z["p"] == pytest.approx(2 * stats.norm.sf(t))


def test_two_wave_comparison_of_tidy_frames_matches_categories():
    a = pd.DataFrame({"category": ["x", "y"], "estimate": [0.2, 0.8], "se": [0.1, 0.1], "df": [5, 5]})
    b = pd.DataFrame({"category": ["y", "x"], "estimate": [0.6, 0.4], "se": [0.1, 0.1], "df": [5, 5]})
    out = S.compare_waves(a, b).set_index("category")
    assert out.loc["x", "difference"] == pytest.approx(0.2) and out.loc["y", "difference"] == pytest.approx(-0.2)
    assert out.loc["x", "df"] == pytest.approx(10.0)


def test_holm_bh_and_by_by_hand():
    p = np.array([0.01, 0.04, 0.03, np.nan])
    np.testing.assert_allclose(S.p_adjust(p, "holm")[:3], [0.03, 0.06, 0.06])
    np.testing.assert_allclose(S.p_adjust(p, "bh")[:3], [0.03, 0.04, 0.04])
    c = 1 + 1 / 2 + 1 / 3
    np.testing.assert_allclose(S.p_adjust(p, "by")[:3], [0.03 * c, 0.04 * c, 0.04 * c])
    assert np.isnan(S.p_adjust(p, "holm")[3])
    with pytest.raises(DesignError, match="unknown p-value adjustment"):
        S.p_adjust(p, "bonferroni")


def test_p_adjust_equals_statsmodels_bit_for_bit():
    """Oracle: statsmodels' ``multipletests`` (holm, fdr_bh, fdr_by), on families with ties, p-values near 1 and
    NaN; R's values are checked in test_golden_r.py."""
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(7)
    for size in (1, 2, 5, 40, 300):
        p = np.round(rng.beta(0.4, 1.0, size), 3)  # rounded: ties
        p[rng.random(size) < 0.1] = 0.999
        for method, name in (("holm", "holm"), ("bh", "fdr_bh"), ("by", "fdr_by")):
            np.testing.assert_array_equal(S.p_adjust(p, method), multipletests(p, method=name)[1])
            with_nan = np.append(p, np.nan)
            np.testing.assert_array_equal(S.p_adjust(with_nan, method)[:-1], multipletests(p, method=name)[1])


def test_pearson_unweighted_keeps_its_contract():
    result = S.pearson_unweighted(np.array([[10, 20], [20, 10]]))
    assert result == pytest.approx(
        {"statistic": 4 * 25 / 15, "ndf": 1.0, "ddf": float("inf"), "p": stats.chi2.sf(4 * 25 / 15, 1)}
    )
    assert np.isnan(S.pearson_unweighted(np.array([[3, 0], [4, 0]]))["p"])


def test_fisher_exact_enumerates_small_tables():
    # Margins (1, 2) x (1, 1, 1): three equally likely tables, so every table has p = 1.
    assert S.fisher_exact_unweighted(np.array([[1, 0, 0], [0, 1, 1]]))["p"] == pytest.approx(1.0)
    # 2 x 2 with margins (2, 2): tables have probabilities 1/6, 4/6, 1/6; the observed extreme one has p = 1/3.
    assert S.fisher_exact_unweighted(np.array([[2, 0], [0, 2]]))["p"] == pytest.approx(1 / 3)
    # k x 2 is transposed to 2 x k.
    assert S.fisher_exact_unweighted(np.array([[2, 0], [0, 2]]).T)["p"] == pytest.approx(1 / 3)
    big = np.array([[5, 3, 2], [1, 4, 6], [3, 3, 3]])
    first = S.fisher_exact_unweighted(big, resamples=2000)
    assert "Monte Carlo" in first["method"] and first == S.fisher_exact_unweighted(big, resamples=2000)
    with pytest.raises(DesignError, match="whole counts"):
        S.fisher_exact_unweighted(np.array([[1.5, 2], [3, 4]]))


def test_fisher_counts_tables_without_enumerating_them():
    # Margins (2, 2) x (1, 1, 2): first rows (1,1,0), (1,0,1), (0,1,1), (0,0,2), by hand.
    assert S._n_tables(np.array([[1, 1, 0], [0, 0, 2]]), cap=100) == 4
    # 2 x 2 with row 1 = 5 and columns (6, 7): x in 0..5, six tables; the cap stops the count.
    assert S._n_tables(np.array([[5, 0], [1, 7]]), cap=100) == 6
    assert S._n_tables(np.array([[5, 0], [1, 7]]), cap=3) == 4


def test_fisher_beyond_the_enumeration_bound_is_r_simulate_p_value():
    # R: fisher.test(matrix(c(12, 5, 9, 3, 8, 10), 2, byrow = TRUE))$p.value = 0.05608179 (exact).
    table = np.array([[12, 5, 9], [3, 8, 10]])
    exact = S.fisher_exact_unweighted(table)
    assert exact["method"] == "fisher_exact (exact enumeration)" and exact["p"] == pytest.approx(0.05608179, abs=5e-9)
    simulated = S.fisher_exact_unweighted(table, max_tables=10, resamples=100_000)
    assert "simulate.p.value" in simulated["method"]
    assert simulated["statistic"] == pytest.approx(exact["statistic"], rel=1e-12)
    assert abs(simulated["p"] - 0.05608179) < 4 * np.sqrt(0.056 * 0.944 / 100_000)
    # R: fisher.test(matrix(c(3,1,2,0, 1,4,0,5, 2,2,3,1), 3, byrow = TRUE))$p.value = 0.07817308 (network algorithm).
    three = S.fisher_exact_unweighted(np.array([[3, 1, 2, 0], [1, 4, 0, 5], [2, 2, 3, 1]]))
    assert abs(three["p"] - 0.07817308) < 4 * np.sqrt(0.078 * 0.922 / 100_000)


def test_fisher_memory_is_bounded_by_the_table_not_the_rows():
    # A 2 x 3 table of 10,000 respondents has 3,128,751 tables with its margins: enumerating them asked for tens
    # of GiB; the simulated p-value holds resamples x columns.
    import tracemalloc

    table = np.array([[3000, 2500, 2000], [1000, 800, 700]])
    tracemalloc.start()
    result = S.fisher_exact_unweighted(table)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "simulate.p.value" in result["method"] and 0 < result["p"] <= 1
    assert peak < 50e6


FRAME = pd.DataFrame(
    {
        "org": np.repeat(np.arange(8), 5),
        "score": np.tile([1, 2, 3, 4, 5], 8),
        "y": [int(c) for c in "0011101011000111011100101011110000110111"],
        "a": list("xyxyxyyxxy") * 4,
    }
)


def test_linear_trend_slope_is_the_weighted_least_squares_slope():
    d = svydesign(FRAME, cluster="org")
    row = S.trend_test(d, "y", "score", family="gaussian").iloc[0]
    x, y = FRAME["score"].to_numpy(float), FRAME["y"].to_numpy(float)
    slope = np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2)
    assert row["estimate"] == pytest.approx(slope, rel=1e-12)
    assert row["ddf"] == 6 and row["direction"] == "increasing"
    assert row["p"] == pytest.approx(2 * stats.t.sf(abs(row["statistic"]), 6))
    logistic = S.trend_test(d, "y", "score").iloc[0]
    assert logistic["direction"] == "increasing" and logistic["iterations"] < 20


def test_a_trend_by_group_is_the_trend_in_each_group_as_a_domain():
    """R svyby(~y, ~group, design, svyglm): each level's row equals the test with that level as the domain (whose
    numbers test_golden_r.py checks against R); a level the test cannot be computed in says why."""
    d = svydesign(FRAME.assign(group=np.where(FRAME["org"] < 6, FRAME["a"], "z")), cluster="org")
    # small integer codes (int8) for the groups and the score, as categoricals bring them
    grouped = S.trend_test(d, "y", pd.Categorical(FRAME["score"]), by=pd.Categorical(d.data["group"]))
    grouped = grouped.set_index("by_value")
    assert list(grouped.index) == ["x", "y", "z"]
    for level in ("x", "y"):
        alone = S.trend_test(d, "y", "score", domain=f"group == '{level}'").iloc[0]
        for column in ("estimate", "se", "statistic", "ddf", "p", "n"):
            assert grouped.loc[level, column] == pytest.approx(alone[column], rel=1e-12), (level, column)
        assert (grouped.loc[level, "direction"], grouped.loc[level, "problem"]) == (alone["direction"], "")
    # "z": the two organisations 6 and 7 alone, df 1: no trend (df - 1 = 0), as the domain test refuses
    with pytest.raises(DesignError) as refused:
        S.trend_test(d, "y", "score", domain="group == 'z'")
    assert grouped.loc["z", "problem"] == refused.value.problem and np.isnan(grouped.loc["z", "p"])


def test_a_trend_the_score_separates_has_no_finite_slope():
    """No 'yes' below score 5: the logistic slope runs off to infinity (R's glm warns that fitted probabilities
    are numerically 0 or 1). The test is refused with the reason, not reported with a diverged slope."""
    separated = FRAME.assign(y=np.where(FRAME["score"] == 5, FRAME["y"], 0))
    d = svydesign(separated, cluster="org")
    with pytest.raises(DesignError, match="separation"):
        S.trend_test(d, "y", "score")
    assert S.trend_test(d, "y", "score", family="gaussian").iloc[0]["direction"] == "increasing"


def test_association_test_errors():
    d = svydesign(FRAME, cluster="org")
    with pytest.raises(DesignError, match="at least two observed levels"):
        S.association_tests(d, "a", "y", domain="a == 'x'")
    with pytest.raises(DesignError, match="unknown svychisq statistic"):
        S.association_tests(d, "a", "y", statistics=("LRT",))
    with pytest.raises(DesignError, match="not 0/1"):
        S.trend_test(d, "score", "y")


def test_a_design_without_degrees_of_freedom_has_no_design_based_test():
    one = svydesign(FRAME.assign(org=0), cluster="org", lonely_psu="adjust")  # one organisation: df 0
    with pytest.raises(DesignError, match="a test of association has no degrees of freedom") as info:
        S.association_tests(one, "a", "y")
    assert (info.value.value, info.value.expected) == ("df = 0", "at least two PSUs (clusters) in a stratum")
    two = svydesign(FRAME.assign(org=FRAME["org"] % 2), cluster="org")  # df 1: a test, but no trend (df - 1 = 0)
    assert S.association_tests(two, "a", "y").iloc[0]["df"] == 1
    for design, residual in ((one, "df = -1"), (two, "df = 0")):
        with pytest.raises(DesignError, match="the trend test has no degrees of freedom") as info:
            S.trend_test(design, "y", "score")
        assert info.value.value == residual


def test_a_table_every_psu_answers_alike_has_no_rao_scott_adjustment():
    alike = pd.DataFrame({"org": np.repeat(np.arange(4), 4), "a": list("xxyy") * 4, "y": [0, 1, 0, 1] * 4})
    with pytest.raises(DesignError, match="the design-based variance of the table is zero"):
        S.association_tests(svydesign(alike, cluster="org"), "a", "y")


def test_f_test_p_value_is_reproducible_from_the_stored_columns():
    d = svydesign(FRAME, cluster="org")
    row = S.svychisq(d, "a", "y").iloc[0]
    assert row["p"] == pytest.approx(stats.f.sf(row["chisq"] / row["trace_delta"], row["d0"], row["d0"] * row["df"]))
    assert row["n"] == 40 and row["df"] == 7
