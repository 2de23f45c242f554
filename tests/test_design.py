"""The design object and the Taylor variance engine, against hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey_audit.errors import DesignError
from survey_audit.stats.design import (
    degf,
    domain_mask,
    kish_deff,
    kish_neff,
    psu_totals,
    svydesign,
    vcov,
    vcov_psu,
)

# Two strata: A holds PSUs p1, p2, p3; B holds p4, p5. Row values are chosen so the PSU totals of z = w * y are
# A: 1, 2, 6 and B: 4, 0.
FRAME = pd.DataFrame(
    {
        "stratum": ["A", "A", "A", "A", "B", "B", "B"],
        "psu": ["p1", "p2", "p2", "p3", "p4", "p4", "p5"],
        "w": [1.0, 1.0, 1.0, 2.0, 1.0, 3.0, 1.0],
        "y": [1.0, 0.5, 1.5, 3.0, 1.0, 1.0, 0.0],
        "N": [10, 10, 10, 10, 4, 4, 4],
    }
)


def design(**kwargs):
    args = {"weights": "w", "cluster": "psu", "strata": "stratum"} | kwargs
    return svydesign(FRAME, **args)


def z():
    return (FRAME["w"] * FRAME["y"]).to_numpy()


def test_psu_totals_and_stratified_variance_by_hand():
    d = design()
    assert d.n_psus == 5 and d.n_strata == 2 and d.degf == 3
    np.testing.assert_allclose(psu_totals(d, z())[:, 0], [1, 2, 6, 4, 0])
    # A: deviations from 3 are -2, -1, 3 -> 14 * 3/2 = 21; B: deviations from 2 are 2, -2 -> 8 * 2/1 = 16.
    assert vcov(d, z())[0, 0] == pytest.approx(37.0, rel=1e-14)


def test_finite_population_correction_scales_each_stratum():
    # A: 3 of 10 PSUs sampled -> (1 - 0.3) * 21; B: 2 of 4 -> 0.5 * 16.
    assert vcov(design(fpc="N"), z())[0, 0] == pytest.approx(0.7 * 21 + 0.5 * 16, rel=1e-14)
    fractions = FRAME.assign(f=np.where(FRAME["stratum"] == "A", 0.3, 0.5))
    d = svydesign(fractions, weights="w", cluster="psu", strata="stratum", fpc="f")
    assert vcov(d, z())[0, 0] == pytest.approx(0.7 * 21 + 0.5 * 16, rel=1e-14)


def test_weights_from_the_fpc_when_none_are_given():
    d = design(weights=None, fpc="N")
    np.testing.assert_allclose(d.weights, [10 / 3] * 4 + [2.0] * 3)
    assert np.all(design(weights=None).weights == 1)


def test_covariance_of_several_columns():
    d = design()
    both = np.column_stack([z(), 2 * z()])
    np.testing.assert_allclose(vcov(d, both), 37.0 * np.array([[1, 2], [2, 4]]), rtol=1e-14)


def test_degrees_of_freedom_of_a_domain_under_both_conventions():
    d = design()
    in_p1_p4 = FRAME["psu"].isin(["p1", "p4"]).to_numpy()
    assert degf(d, in_p1_p4) == 0  # 2 PSUs - 2 strata (R's degf(subset(...)))
    assert degf(d, in_p1_p4, convention="design") == 3
    only_a = (FRAME["stratum"] == "A").to_numpy()
    assert degf(d, only_a) == 2
    zero_weight = FRAME.assign(w=[1.0, 1.0, 1.0, 2.0, 0.0, 0.0, 1.0])
    assert svydesign(zero_weight, weights="w", cluster="psu", strata="stratum").degf == 2  # p4 carries no weight


LONELY = pd.DataFrame(
    {
        "stratum": ["A", "A", "B", "B", "C"],
        "psu": [1, 2, 3, 4, 5],
        "w": [1.0] * 5,
        "y": [1.0, 3.0, 2.0, 6.0, 5.0],
    }
)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        # A: 2 * (1 + 1) = 4; B: 2 * (4 + 4) = 16; C lonely.
        ("remove", 20.0),
        ("certainty", 20.0),
        ("adjust", 20.0 + 25.0),  # the lonely PSU total, not centred: 5^2
        ("average", 20.0 * 3 / 2),  # 3 strata, 2 with two or more PSUs
    ],
)
def test_lonely_psu_policies_by_hand(policy, expected):
    d = svydesign(LONELY, weights="w", cluster="psu", strata="stratum", lonely_psu=policy)
    assert vcov(d, LONELY["y"].to_numpy())[0, 0] == pytest.approx(expected, rel=1e-14)


def test_average_policy_counts_only_the_strata_of_a_domain():
    d = svydesign(LONELY, weights="w", cluster="psu", strata="stratum", lonely_psu="average")
    in_ac = LONELY["stratum"].isin(["A", "C"]).to_numpy()
    zz = np.where(in_ac, LONELY["y"], 0.0)
    # Strata present: A and C (C lonely) -> A's 4 times 2/1.
    assert vcov(d, zz, domain=in_ac)[0, 0] == pytest.approx(8.0, rel=1e-14)


def test_lonely_psu_fails_with_a_message_naming_the_stratum():
    with pytest.raises(DesignError) as caught:
        svydesign(LONELY, weights="w", cluster="psu", strata="stratum")
    message = str(caught.value)
    assert "only one PSU" in message and "C (PSU 5)" in message and "lonely_psu" in message


def test_certainty_psu_with_a_census_fpc_is_not_lonely():
    frame = LONELY.assign(N=[10, 10, 10, 10, 1])
    d = svydesign(frame, weights="w", cluster="psu", strata="stratum", fpc="N")
    # A: 0.8 * 4; B: 0.8 * 16; C fully enumerated.
    assert vcov(d, frame["y"].to_numpy())[0, 0] == pytest.approx(0.8 * 20, rel=1e-14)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"w": [1.0, -1.0, 1.0, 1.0, 1.0, 1.0, 1.0]}, "negative"),
        ({"w": [1.0, np.nan, 1.0, 1.0, 1.0, 1.0, 1.0]}, "no weight"),
        ({"psu": ["p1", None, "p2", "p3", "p4", "p4", "p5"]}, "no cluster"),
        ({"stratum": ["A", "A", "A", None, "B", "B", "B"]}, "no stratum"),
        ({"psu": ["p1", "p2", "p2", "p3", "p1", "p4", "p5"]}, "not nested"),
    ],
)
def test_design_errors_name_what_was_found(change, needle):
    frame = FRAME.assign(**change)
    with pytest.raises(DesignError, match=needle):
        svydesign(frame, weights="w", cluster="psu", strata="stratum")


def test_other_design_errors():
    with pytest.raises(DesignError, match="'weight' is not in the data"):
        svydesign(FRAME, weights="weight")
    with pytest.raises(DesignError, match="fpc varies"):
        svydesign(FRAME.assign(N=[10, 11, 10, 10, 4, 4, 4]), weights="w", cluster="psu", strata="stratum", fpc="N")
    with pytest.raises(DesignError, match="more than 100%"):
        svydesign(FRAME.assign(N=2), weights="w", cluster="psu", strata="stratum", fpc="N")
    with pytest.raises(DesignError, match="lonely-PSU policy"):
        svydesign(FRAME, weights="w", lonely_psu="ignore")
    with pytest.raises(DesignError, match="every weight is zero"):
        svydesign(FRAME.assign(w=0.0), weights="w")


def test_nest_makes_cluster_labels_local_to_their_stratum():
    frame = FRAME.assign(psu=["1", "2", "2", "3", "1", "1", "2"])
    d = svydesign(frame, weights="w", cluster="psu", strata="stratum", nest=True)
    assert d.n_psus == 5
    assert vcov(d, z())[0, 0] == pytest.approx(37.0, rel=1e-14)


def test_clusters_without_rows_are_not_counted():
    # A categorical's unused categories name no cluster of the sample: R counts the clusters present.
    cats = pd.Categorical(FRAME["psu"], categories=["p0", "p1", "p2", "p3", "p4", "p5", "p9"])
    d = svydesign(FRAME.assign(psu=cats), weights="w", cluster="psu", strata="stratum")
    assert d.n_psus == 5 and d.degf == 3 and d.psu_labels.tolist() == ["p1", "p2", "p3", "p4", "p5"]
    assert vcov(d, z())[0, 0] == pytest.approx(37.0, rel=1e-14)
    unstratified = svydesign(FRAME.assign(psu=cats), weights="w", cluster="psu")
    plain = svydesign(FRAME, weights="w", cluster="psu")
    assert unstratified.n_psus == 5 and unstratified.degf == plain.degf == 4
    assert vcov(unstratified, z())[0, 0] == vcov(plain, z())[0, 0]


def test_domain_masks():
    d = design()
    frame_with_missing = FRAME.assign(flag=[True, None, False, True, None, True, False])
    d2 = svydesign(frame_with_missing, weights="w", cluster="psu", strata="stratum")
    np.testing.assert_array_equal(domain_mask(d2, "flag == True"), [True, False, False, True, False, True, False])
    np.testing.assert_array_equal(domain_mask(d, "stratum == 'B'"), [False] * 4 + [True] * 3)
    assert domain_mask(d, None) is None
    with pytest.raises(DesignError, match="cannot be evaluated"):
        domain_mask(d, "nonexistent > 3")


def test_kish_weighting_effect():
    assert kish_deff(np.array([1.0, 1.0, 2.0])) == pytest.approx(3 * 6 / 16)
    assert kish_neff(np.array([1.0, 1.0, 2.0])) == pytest.approx(16 / 6)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=-1e3, max_value=1e3, allow_nan=False), min_size=2, max_size=40))
def test_srs_with_replacement_variance_of_a_total(values):
    y = np.array(values)
    d = svydesign(n=len(y))
    n = len(y)
    expected = n / (n - 1) * np.sum((y - y.mean()) ** 2)
    assert vcov_psu(d, psu_totals(d, y))[0, 0] == pytest.approx(expected, rel=1e-9, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.permutations(list(range(7))))
def test_variance_does_not_depend_on_row_order(order):
    shuffled = FRAME.iloc[list(order)].reset_index(drop=True)
    d = svydesign(shuffled, weights="w", cluster="psu", strata="stratum")
    assert vcov(d, (shuffled["w"] * shuffled["y"]).to_numpy())[0, 0] == pytest.approx(37.0, rel=1e-12)


def test_aggregated_calibration_correction_equals_the_row_by_row_residual():
    from survey_audit.stats import weighting
    from survey_audit.stats.design import calibration_residual, coded_correction

    rng = np.random.default_rng(7)
    n = 400
    frame = pd.DataFrame(
        {
            "org": rng.integers(0, 25, n),
            "s": rng.integers(0, 2, n),
            "a": rng.choice(list("xyz"), n),
            "b": rng.choice(list("pq"), n),
            "y": rng.integers(0, 4, n),
            "w": rng.lognormal(0, 0.4, n),
        }
    )
    frame["s"] = frame["org"] % 2
    base = svydesign(frame, weights="w", cluster="org", strata="s")
    raked = weighting.rake(base, {"a": {"x": 300, "y": 200, "z": 100}, "b": {"p": 350, "q": 250}}).design
    post = weighting.poststratify(base, "a", {"x": 300, "y": 200, "z": 100}).design
    trimmed = weighting.trim_weights(raked, upper=float(np.quantile(raked.weights, 0.9))).design
    codes = frame["y"].to_numpy()
    M = rng.normal(size=(4, 3))
    for design in (raked, post, trimmed):
        z = design.weights[:, None] * M[codes]
        expected = psu_totals(design, z) - psu_totals(design, calibration_residual(design, z))
        np.testing.assert_allclose(coded_correction(design, codes, 4, M), expected, rtol=1e-10, atol=1e-12)


def test_factor_codes_for_each_kind_of_column():
    from survey_audit.stats.design import factor_codes

    ints = factor_codes(pd.Series([3, 7, 3, 9]))
    assert ints.labels == [3, 7, 9] and ints.codes.tolist() == [0, 1, 0, 2] and ints.complete
    listed = factor_codes(pd.Series([3, 7, 3, 9]), categories=[9, 3])
    assert listed.codes.tolist() == [1, -1, 1, 0] and not listed.complete
    cat = factor_codes(pd.Series(pd.Categorical(["b", None, "a"], categories=["a", "b", "c"])))
    assert cat.labels == ["a", "b", "c"] and cat.codes.tolist() == [1, -1, 0] and not cat.complete
    reordered = factor_codes(pd.Series(pd.Categorical(["b", "a"], categories=["a", "b"])), categories=["b", "a"])
    assert reordered.codes.tolist() == [0, 1]
    flags = factor_codes(pd.Series([True, False, True]))
    assert flags.labels == [False, True] and flags.codes.tolist() == [1, 0, 1]
    assert factor_codes(pd.Series([True, True])).labels == [False, True]  # both labels even if one is unseen
    text = factor_codes(pd.Series(["y", np.nan, "x"]))
    assert text.labels == ["x", "y"] and text.codes.tolist() == [1, -1, 0]
    narrow = factor_codes(pd.Series(np.array([0, 2, 2, 5], dtype=np.int8)))
    assert narrow.labels == [0, 2, 5] and narrow.codes.tolist() == [0, 1, 1, 2]
    floats = factor_codes(pd.Series([1.5, np.nan, 0.5]))
    assert floats.labels == [0.5, 1.5] and floats.codes.tolist() == [1, -1, 0]


def test_code_sums_are_bincount_bit_for_bit():
    from survey_audit.stats.design import code_sums, code_type

    rng = np.random.default_rng(7)
    w = rng.lognormal(0, 2, 5000)
    for size in (2, 24, 300):
        codes = rng.integers(0, size, 5000)
        for narrow in (codes, codes.astype(code_type(size))):
            sums = code_sums(narrow, size, w)
            assert sums.dtype == np.float64 and sums.tobytes() == np.bincount(codes, w, minlength=size).tobytes()
            counts = code_sums(narrow, size)
            assert counts.dtype == np.int64 and counts.tolist() == np.bincount(codes, minlength=size).tolist()
    outside = np.array([1, -1, 0, 1, -1])
    assert code_sums(outside, 3).tolist() == [1, 2, 2]  # -1 lands in the last place
    assert [code_type(k) for k in (127, 128, 32767, 32768)] == [np.int8, np.int16, np.int16, np.int32]
