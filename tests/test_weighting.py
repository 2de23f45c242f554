"""Raking, post-stratification, calibration, trimming, replicates and diagnostics, against hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from survey_audit.errors import DesignError
from survey_audit.stats import estimates as E
from survey_audit.stats import weighting as W
from survey_audit.stats.design import svydesign

FOUR = pd.DataFrame(
    {"a": ["0", "0", "1", "1"], "b": ["0", "1", "0", "1"], "x": [1.0, 2.0, 3.0, 4.0], "org": [1, 2, 3, 4]}
)


def test_rake_by_hand():
    d = svydesign(FOUR, cluster="org")
    raked, record = W.rake(d, {"a": {"0": 3, "1": 5}, "b": {"0": 4, "1": 4}})
    # One post-stratification on a already meets the b margin.
    np.testing.assert_allclose(raked.weights, [1.5, 1.5, 2.5, 2.5])
    assert record.converged and record.iterations == 2 and record.max_abs_error == 0
    for margin, target in (("a", [3, 5]), ("b", [4, 4])):
        achieved = np.bincount(FOUR[margin].astype(int), weights=raked.weights)
        assert achieved.tolist() == pytest.approx(target)


def test_rake_reports_non_convergence():
    frame = pd.DataFrame({"a": list("0011") * 3, "b": list("0101") * 3, "c": list("011010011010")})
    d = svydesign(frame)
    _, record = W.rake(d, {"a": {"0": 10, "1": 20}, "b": {"0": 5, "1": 25}, "c": {"0": 12, "1": 18}}, maxit=2)
    assert not record.converged and record.iterations == 2 and record.max_abs_error > 0


def test_poststratify_by_hand():
    d = svydesign(FOUR, cluster="org", weights=np.array([1.0, 3.0, 2.0, 2.0]))
    ps, record = W.poststratify(d, "a", {"0": 8, "1": 2})
    np.testing.assert_allclose(ps.weights, [2.0, 6.0, 1.0, 1.0])
    joint, _ = W.poststratify(d, ["a", "b"], {("0", "0"): 1, ("0", "1"): 1, ("1", "0"): 1, ("1", "1"): 1})
    np.testing.assert_allclose(joint.weights, [1.0, 1.0, 1.0, 1.0])


def test_poststratified_mean_has_zero_variance_for_the_poststratifier():
    d = svydesign(FOUR, cluster="org")
    ps, _ = W.poststratify(d, "a", {"0": 3, "1": 5})
    row = E.proportions(ps, "a").iloc[0]
    assert row["estimate"] == pytest.approx(3 / 8) and row["se"] == pytest.approx(0.0, abs=1e-15)


def test_linear_calibration_meets_the_totals():
    frame = pd.DataFrame({"g": list("ababab"), "x": [1.0, 2.0, 2.0, 5.0, 3.0, 1.0], "org": range(6)})
    d = svydesign(frame, cluster="org")
    totals = {"(Intercept)": 12, "gb": 5, "x": 30}
    cal, record = W.calibrate(d, ["g", "x"], totals)
    X = W.model_matrix(frame, ["g", "x"])
    assert list(X.columns) == ["(Intercept)", "gb", "x"]
    np.testing.assert_allclose(X.to_numpy().T @ cal.weights, [12, 5, 30], rtol=1e-12)
    # GREG: g = 1 + X (X'X)^-1 (T - X'1) with unit design weights.
    Xm = X.to_numpy()
    g = 1 + Xm @ np.linalg.solve(Xm.T @ Xm, np.array([12, 5, 30]) - Xm.sum(axis=0))
    np.testing.assert_allclose(cal.weights, g, rtol=1e-12)
    bounded, record = W.calibrate(d, ["g", "x"], totals, bounds=(0.5, 2.5))
    assert record.converged and bounded.weights.min() >= 0.5 - 1e-12 and bounded.weights.max() <= 2.5 + 1e-12
    np.testing.assert_allclose(Xm.T @ bounded.weights, [12, 5, 30], rtol=1e-7)


def test_calibration_errors():
    d = svydesign(FOUR, cluster="org")
    with pytest.raises(DesignError, match="do not match the calibration model"):
        W.calibrate(d, ["a"], {"(Intercept)": 8})
    with pytest.raises(DesignError, match="finite bounds"):
        W.calibrate(d, ["a"], {"(Intercept)": 8, "a1": 4}, calfun="logit")
    with pytest.raises(DesignError, match="did not converge"):
        W.calibrate(d, ["a"], {"(Intercept)": 8, "a1": 7.9}, bounds=(0.9, 1.1))
    with pytest.raises(DesignError, match="unknown calibration variable"):
        W.calibrate(d, ["zz"], {"(Intercept)": 8})


def test_trim_weights_by_hand():
    d = svydesign(n=4, weights=np.array([1.0, 1.0, 1.0, 10.0]))
    trimmed, record = W.trim_weights(d, upper=5)
    np.testing.assert_allclose(trimmed.weights, [1 + 5 / 3] * 3 + [5.0])
    assert record.iterations == 1
    d = svydesign(n=5, weights=np.array([1.0, 1.0, 1.0, 1.0, 12.0]))
    loose = W.trim_weights(d, upper=3).design  # 9 shared by four: 3.25 each, above the cap
    np.testing.assert_allclose(loose.weights, [3.25] * 4 + [3.0])
    d = svydesign(n=10, weights=np.array([1.0] * 8 + [2.8, 12.0]))
    once = W.trim_weights(d, upper=3).design  # 9 shared by nine: 2.8 becomes 3.8
    np.testing.assert_allclose(once.weights, [2.0] * 8 + [3.8, 3.0])
    strict, record = W.trim_weights(d, upper=3, strict=True)
    assert strict.weights.max() <= 3 + 1e-12 and strict.weights.sum() == pytest.approx(22.8)
    assert record.converged and record.iterations > 1


def test_jk1_mean_variance_equals_s2_over_n_for_simple_random_sampling():
    y = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0])
    frame = pd.DataFrame({"y": y})
    rep = W.jk1_replicates(svydesign(frame))
    assert rep.replicates.weights.shape == (7, 7) and rep.replicates.scale == pytest.approx(6 / 7)
    assert np.all(np.diag(rep.replicates.weights) == 0) and rep.replicates.weights[0, 1] == pytest.approx(7 / 6)
    row = E.svymean(rep, "y").iloc[0]
    assert row["se"] ** 2 == pytest.approx(y.var(ddof=1) / 7, rel=1e-12)
    assert rep.degf == 6


def test_replicate_errors():
    strat = svydesign(FOUR.assign(s=["u", "u", "v", "v"]), cluster="org", strata="s")
    with pytest.raises(DesignError, match="unstratified"):
        W.jk1_replicates(strat)
    d = svydesign(FOUR, cluster="org")
    raked = W.rake(d, {"a": {"0": 3, "1": 5}}).design
    with pytest.raises(DesignError, match="already calibrated"):
        W.jk1_replicates(raked)
    with pytest.raises(DesignError, match="replicate design is not supported"):
        W.trim_weights(W.jk1_replicates(d), upper=1)


def test_margin_errors_name_the_categories():
    d = svydesign(FOUR, cluster="org")
    with pytest.raises(DesignError, match="have no population total"):
        W.rake(d, {"a": {"0": 3}})
    with pytest.raises(DesignError, match="absent from the sample"):
        W.rake(d, {"a": {"0": 3, "1": 4, "2": 1}})
    with pytest.raises(DesignError, match="no value of the raking variable"):
        W.rake(svydesign(FOUR.assign(a=["0", None, "1", "1"])), {"a": {"0": 3, "1": 5}})


def test_weight_diagnostics_by_hand():
    diag = W.weight_diagnostics(np.array([1.0, 1.0, 2.0, 4.0]))
    assert diag["sum"] == 8 and diag["min"] == 1 and diag["max"] == 4 and diag["ratio_max_min"] == 4
    assert diag["kish_deff"] == pytest.approx(4 * 22 / 64) and diag["kish_neff"] == pytest.approx(64 / 22)
