"""Estimates, intervals and tables, against hand computations and independent implementations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from survey_audit.errors import DesignError
from survey_audit.stats import estimates as E
from survey_audit.stats.design import svydesign


def srs(values, weights=None):
    frame = pd.DataFrame({"y": values})
    if weights is not None:
        frame["w"] = weights
    return frame, svydesign(frame, weights="w" if weights is not None else None)


def test_proportion_under_simple_random_sampling_by_hand():
    frame, d = srs(["a"] * 3 + ["b"] * 7)
    table = E.proportions(d, "y", ci="wald")
    a = table.iloc[0]
    assert (a["category"], a["n"], a["base_n"]) == ("a", 3, 10)
    assert a["estimate"] == pytest.approx(0.3)
    # Each row its own PSU, unit weights: var = p(1-p)/(n-1).
    assert a["se"] == pytest.approx(np.sqrt(0.3 * 0.7 / 9), rel=1e-12)
    q = stats.t.ppf(0.975, 9)
    assert (a["ci_low"], a["ci_high"]) == pytest.approx((0.3 - q * a["se"], 0.3 + q * a["se"]), rel=1e-12)
    assert a["n_eff"] == pytest.approx(0.21 / (0.21 / 9))
    assert np.isnan(a["deff"])  # N = n: no without-replacement SRS variance
    wr = E.proportions(d, "y", deff="wr").iloc[0]
    assert wr["deff"] == pytest.approx((0.21 / 9) / (10 / 9 * 0.21 / 10))


def test_weighted_proportion_and_totals():
    frame, d = srs(["a", "a", "b", "b"], weights=[1.0, 3.0, 2.0, 2.0])
    table = E.proportions(d, "y")
    assert table["weighted_n"].tolist() == [4.0, 4.0] and table["weighted_base"].tolist() == [8.0, 8.0]
    assert table["estimate"].tolist() == [0.5, 0.5]


P, SE, N, DF = 0.3, 0.06, 120, 14


def test_korn_graubard_is_clopper_pearson_with_the_df_adjusted_effective_n():
    n_eff = P * (1 - P) / SE**2 * (stats.t.ppf(0.025, N - 1) / stats.t.ppf(0.025, DF)) ** 2
    low, high = proportion_confint(P * n_eff, n_eff, alpha=0.05, method="beta")
    got = E.proportion_ci(P, SE, N, DF, method="kg").iloc[0]
    assert (got["ci_low"], got["ci_high"]) == pytest.approx((low, high), rel=1e-12)
    assert got["n_eff"] == pytest.approx(P * (1 - P) / SE**2)


def test_nchs_korn_graubard_truncates_the_effective_n_at_n():
    small_se = 0.01  # n_eff far above n
    got = E.proportion_ci(P, small_se, N, DF, method="kg_nchs").iloc[0]
    low, high = proportion_confint(P * N, N, alpha=0.05, method="beta")
    assert (got["ci_low"], got["ci_high"]) == pytest.approx((low, high), rel=1e-12)


def test_logit_xlogit_wilson_and_wald_by_hand():
    q = stats.t.ppf(0.95, DF)  # 90% intervals
    eta, s = np.log(P / (1 - P)), SE / (P * (1 - P))
    expit = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    for method in ("logit", "xlogit"):
        got = E.proportion_ci(P, SE, N, DF, method=method, level=0.9).iloc[0]
        assert (got["ci_low"], got["ci_high"]) == pytest.approx((expit(eta - q * s), expit(eta + q * s)), rel=1e-12)
    n_eff = P * (1 - P) / SE**2
    centre, half = P + q**2 / (2 * n_eff), q * np.sqrt(P * (1 - P) / n_eff + q**2 / (4 * n_eff**2))
    got = E.proportion_ci(P, SE, N, DF, method="wilson", level=0.9).iloc[0]
    assert (got["ci_low"], got["ci_high"]) == pytest.approx(
        ((centre - half) / (1 + q**2 / n_eff), (centre + half) / (1 + q**2 / n_eff))
    )
    got = E.proportion_ci(P, SE, N, DF, method="wald", level=0.9).iloc[0]
    assert (got["ci_low"], got["ci_high"]) == pytest.approx((P - q * SE, P + q * SE))


@pytest.mark.parametrize("method", E.CI_METHODS)
def test_boundary_rule_for_zero_and_hundred_percent(method):
    n = 40
    got = E.proportion_ci([0.0, 1.0], [0.0, 0.0], n, DF, method=method)
    upper = 1 - 0.025 ** (1 / n)  # Clopper-Pearson at x = 0, closed form
    assert got["ci_low"].tolist() == pytest.approx([0.0, 0.025 ** (1 / n)], rel=1e-12)
    assert got["ci_high"].tolist() == pytest.approx([upper, 1.0], rel=1e-12)
    assert got["ci_method"].tolist() == ["exact_boundary"] * 2 and got["n_eff"].tolist() == [n, n]


def test_degenerate_intervals_are_labelled():
    got = E.proportion_ci([0.4, 0.4, np.nan], [0.0, 0.1, np.nan], 10, [5, 0.5, 5])
    assert (got.loc[0, "ci_low"], got.loc[0, "ci_high"]) == (0.4, 0.4)  # zero variance inside (0, 1)
    assert got.loc[1, "ci_method"] == "none_df<1" and np.isnan(got.loc[1, "ci_low"])
    assert got.loc[2, "ci_method"] == "empty_base"
    with pytest.raises(DesignError, match="unknown CI method"):
        E.proportion_ci(0.5, 0.1, 10, 5, method="exact")
    with pytest.raises(DesignError, match="between 0 and 1"):
        E.proportion_ci(0.5, 0.1, 10, 5, level=95)


FRAME = pd.DataFrame(
    {
        "org": ["o1", "o1", "o2", "o2", "o3", "o3", "o4", "o4"],
        "group": ["g", "g", "g", "h", "h", "h", "h", "g"],
        "answer": pd.Categorical(["x", "y", "x", None, "y", "y", "x", "x"], categories=["x", "y", "z"]),
        "w": [1.0, 2.0, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0],
        "opt1": [1, 0, 1, np.nan, 1, 0, 0, 1],
        "opt2": [0, 0, 1, np.nan, 1, 1, 0, 0],
    }
)
D = svydesign(FRAME, weights="w", cluster="org")


def test_categorical_with_an_empty_category_and_missing_answers():
    table = E.proportions(D, "answer")
    assert table["category"].tolist() == ["x", "y", "z"]
    assert table["n"].tolist() == [4, 3, 0] and set(table["base_n"]) == {7}
    assert table["estimate"].tolist() == pytest.approx([4 / 9, 5 / 9, 0.0])
    z = table.iloc[2]
    assert (
        z["ci_method"] == "exact_boundary" and z["ci_low"] == 0 and z["ci_high"] == pytest.approx(1 - 0.025 ** (1 / 7))
    )
    assert set(table["df"]) == {3}


def test_by_groups_and_domains():
    table = E.proportions(D, "answer", by="group")
    g = table[table["by_value"] == "g"]
    assert g["n"].tolist() == [3, 1, 0] and g["estimate"].tolist() == pytest.approx([3 / 5, 2 / 5, 0])
    assert g["df"].iloc[0] == 2  # g has answers in o1, o2 and o4: 3 PSUs - 1 stratum
    h = table[table["by_value"] == "h"]
    assert h["base_n"].iloc[0] == 3 and h["df"].iloc[0] == 1  # h: PSUs o3 and o4 (o2's h row has no answer)
    dom = E.proportions(D, "answer", domain="group == 'h'")
    assert dom["estimate"].tolist() == pytest.approx(h["estimate"].tolist())
    assert dom["se"].tolist() == pytest.approx(h["se"].tolist(), rel=1e-12)


def test_domain_keeps_every_psu_in_the_variance():
    # Hand computation for group g, category x: u = D (y - p)/W with p = 3/5, W = 5; PSU totals of w u.
    p, W = 3 / 5, 5.0
    rows = FRAME.assign(inside=(FRAME["group"] == "g") & FRAME["answer"].notna())
    rows["z"] = np.where(rows["inside"], rows["w"] * ((rows["answer"] == "x") - p) / W, 0.0)
    totals = rows.groupby("org")["z"].sum().to_numpy()
    expected = 4 / 3 * np.sum((totals - totals.mean()) ** 2)
    got = E.proportions(D, "answer", by="group").iloc[0]
    assert got["se"] ** 2 == pytest.approx(expected, rel=1e-12)


def test_multiselect_uses_the_answering_respondents_as_base():
    table = E.multiselect_proportions(D, FRAME[["opt1", "opt2"]])
    assert table["category"].tolist() == ["opt1", "opt2"]
    assert table["base_n"].tolist() == [7, 7] and table["n"].tolist() == [4, 3]
    assert table["estimate"].tolist() == pytest.approx([5 / 9, 4 / 9])
    valid = np.array([True, True, True, False, True, True, False, True])
    subset = E.multiselect_proportions(D, FRAME[["opt1", "opt2"]].fillna(0), valid=valid)
    assert subset["base_n"].tolist() == [6, 6] and subset["estimate"].tolist() == pytest.approx([5 / 8, 4 / 8])
    with pytest.raises(DesignError, match="not 0/1"):
        E.multiselect_proportions(D, FRAME[["opt1"]] * 2)


def test_means_totals_and_ratios_by_hand():
    frame = pd.DataFrame({"y": [1.0, 2.0, np.nan, 5.0], "x": [1.0, 1.0, 1.0, 2.0], "w": [1.0, 1.0, 1.0, 2.0]})
    d = svydesign(frame, weights="w")
    m = E.svymean(d, "y").iloc[0]
    assert m["estimate"] == pytest.approx(13 / 4) and m["n"] == 3
    # u = (y - 13/4)/4 on non-missing rows; z = w u; each row a PSU; n = 4 PSUs, one with z = 0.
    zz = np.array([1 * (1 - 3.25) / 4, 1 * (2 - 3.25) / 4, 0.0, 2 * (5 - 3.25) / 4])
    assert m["se"] ** 2 == pytest.approx(4 / 3 * np.sum((zz - zz.mean()) ** 2), rel=1e-12)
    t = E.svytotal(d, "y").iloc[0]
    zt = np.array([1.0, 2.0, 0.0, 10.0])
    assert t["estimate"] == 13 and t["se"] ** 2 == pytest.approx(4 / 3 * np.sum((zt - zt.mean()) ** 2), rel=1e-12)
    r = E.svyratio(d, "y", "x").iloc[0]
    assert r["estimate"] == pytest.approx(13 / 6)
    with pytest.raises(DesignError, match="not numeric"):
        E.svymean(svydesign(FRAME, weights="w"), "group")


def test_crosstab_counts_and_percentages_by_hand():
    table = E.svytable(D, "group", "answer")
    cell = table.set_index(["row", "col"])
    assert cell.loc[("g", "x"), "weighted_n"] == 3 and cell.loc[("g", "x"), "n"] == 3
    assert cell.loc[("h", "y"), "weighted_n"] == 3
    assert cell.loc[("g", "x"), "cell_pct"] == pytest.approx(100 * 3 / 9)
    assert cell.loc[("g", "x"), "row_pct"] == pytest.approx(100 * 3 / 5)
    assert cell.loc[("g", "x"), "col_pct"] == pytest.approx(100 * 3 / 4)
    assert np.isnan(cell.loc[("g", "z"), "col_pct"])  # an empty column has no column percentages
    one_way = E.svytable(D, "answer")
    assert one_way["weighted_n"].tolist() == [4.0, 5.0, 0.0]


def test_input_errors():
    with pytest.raises(DesignError, match="unknown column 'nope'"):
        E.proportions(D, "nope")
    with pytest.raises(DesignError, match="has 3 values"):
        E.proportions(D, [1, 2, 3])
    with pytest.raises(DesignError, match="unknown df convention"):
        E.proportions(D, "answer", df="stata")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4), st.floats(0.1, 10)), min_size=3, max_size=60),
)
def test_proportions_are_weighted_shares_summing_to_one(rows):
    frame = pd.DataFrame(rows, columns=["y", "org", "w"])
    if frame["org"].nunique() < 2:
        frame.loc[0, "org"] = 99
    d = svydesign(frame, weights="w", cluster="org")
    table = E.proportions(d, "y")
    for _, row in table.iterrows():
        share = frame.loc[frame["y"] == row["category"], "w"].sum() / frame["w"].sum()
        assert row["estimate"] == pytest.approx(share, rel=1e-12)
        assert row["ci_low"] <= row["estimate"] + 1e-12 and row["estimate"] <= row["ci_high"] + 1e-12
    assert table["estimate"].sum() == pytest.approx(1.0)


def test_the_lean_kernel_gives_the_tidy_numbers():
    for variable in ("answer", FRAME["opt1"].fillna(0).astype(int)):
        labels, est, se = E.proportion_se(D, variable)
        tidy = E.proportions(D, variable)
        assert list(labels) == tidy["category"].tolist()
        np.testing.assert_allclose(est, tidy["estimate"], rtol=1e-13)
        np.testing.assert_allclose(se, tidy["se"], rtol=1e-12)


def test_multiselect_from_a_boolean_matrix_is_the_frame_of_0_1_to_the_bit():
    # Oracle: the same indicators given as a frame of 0/1 floats. A boolean matrix (a byte per cell) must give
    # the very same numbers, bit for bit, on a clustered, raked design with by-groups (the calibration residual
    # and the weighted totals are sensitive to the order in which values are summed).
    from survey_audit.stats import weighting

    rng = np.random.default_rng(3)
    n = 600
    frame = pd.DataFrame(
        {
            "org": rng.choice([f"o{i}" for i in range(12)], n),
            "sex": rng.choice(["f", "m"], n),
            "age": rng.choice(["young", "old"], n),
            "group": rng.choice(["g1", "g2", "g3"], n),
        }
    )
    raked = weighting.rake(
        svydesign(frame, cluster="org"), {"sex": {"f": 330.0, "m": 270.0}, "age": {"young": 250.0, "old": 350.0}}
    ).design
    chosen = rng.random((n, 4)) < [0.1, 0.4, 0.6, 0.9]
    options = ["a", "b", "c", "d"]
    for design in (svydesign(frame, cluster="org"), raked):
        for by in (None, "group"):
            expected = E.multiselect_proportions(design, pd.DataFrame(chosen.astype(float), columns=options), by=by)
            got = E.multiselect_proportions(design, chosen, options=options, by=by)
            pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_influence_values_are_the_textbook_expression_to_the_bit_and_row_major_for_a_calibration():
    # Oracle: wd (Y - x est) / X written as one numpy expression (what the variance code computed before it
    # worked in place); for calibrated designs the residual's products get it laid out by rows, as before.
    rng = np.random.default_rng(5)
    Y = np.asfortranarray(rng.random((50, 3)))
    x, wd, est, X = rng.random(50) + 0.5, rng.random(50), rng.random(3), 17.25
    expected = wd[:, None] * (Y - x[:, None] * est[None, :]) / X
    plain = E._influence(Y.copy(order="F"), x, est, wd, X, row_major=False)
    calibrated = E._influence(Y.copy(order="F"), x, est, wd, X, row_major=True)
    assert np.array_equal(plain, expected) and np.array_equal(calibrated, expected)
    assert calibrated.flags["C_CONTIGUOUS"] and expected.flags["C_CONTIGUOUS"]


FRAME_TEXT = st.one_of(st.text(max_size=3), st.none(), st.just(np.nan), st.integers(0, 3), st.booleans())


@settings(max_examples=200, deadline=None)
@given(rows=st.integers(0, 4), data=st.data())
def test_tidy_frames_are_what_the_constructor_makes(rows, data):
    """Oracle: pandas' own constructor. The estimators' frames convert their text columns in one piece; a column
    of Python strings must get the constructor's type (a column with a missing value or a non-string keeps the
    constructor's handling), and every other column its own."""
    columns = {}
    for i in range(data.draw(st.integers(1, 5))):
        kind = data.draw(st.sampled_from(["text", "mixed", "float", "int"]))
        if kind == "text":
            values = data.draw(st.lists(st.text(max_size=3), min_size=rows, max_size=rows))
        elif kind == "mixed":
            values = data.draw(st.lists(FRAME_TEXT, min_size=rows, max_size=rows))
        elif kind == "float":
            values = data.draw(st.lists(st.floats(allow_nan=True), min_size=rows, max_size=rows))
        else:
            values = data.draw(st.lists(st.integers(-5, 5), min_size=rows, max_size=rows))
        columns[f"c{i}"] = np.array(values, dtype=object if kind in ("text", "mixed") else None)
    got = E._frame(columns)
    expected = pd.DataFrame(columns)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert list(got.dtypes) == list(expected.dtypes)
