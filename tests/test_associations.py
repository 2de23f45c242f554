"""The associations stage: which tests are run in a scope and how they are named. Oracle: hand computations; the
test statistics themselves are checked against R in
test_golden_r.py and test_golden_waves.py, and a table's model test against R's regTermTest(svyglm(...)) on the
bundled wave 1 (tests/golden/models.json)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, ROWS, SIGNIFICANCE, frame_of, models_golden, models_wave_designs, spec
from survey_audit.config.tables import ModelSpec
from survey_audit.config.variables import load_variables
from survey_audit.stages.associations import NOT_COMPUTABLE, model_tests, table_tests
from survey_audit.stages.conventions import scope_design
from survey_audit.stages.families import adjust_tests


def test_a_test_with_nothing_to_compare_is_reported_not_computable(variables):
    frame = frame_of(ROWS)
    table = spec(by="entry_cohort", domain="advertised__online == True", test_family="exploratory")
    design = scope_design(frame, np.ones(len(frame)), "w1", "adjust")
    rows = table_tests(design, table, variables, "w1", weighting="unweighted", df="domain")
    f = next(r for r in rows if r["test"] == "F")  # everyone advertised online entered from 2004: one column
    assert f["method"].startswith("not computable: a test of association needs at least two observed levels")
    assert "p" not in f or pd.isna(f.get("p"))


def test_every_respondent_from_one_organisation_leaves_the_design_based_tests_not_computable(variables):
    frame = frame_of([("A", *row[1:]) for row in ROWS])  # a single cluster: no degrees of freedom
    table = spec(variable="advertised", by="gender", test_family="exploratory", trend=True)
    design = scope_design(frame, np.ones(len(frame)), "w1", "adjust")
    rows = {r["test_id"]: r for r in table_tests(design, table, variables, "w1", weighting="unweighted", df="domain")}
    design_based = ["t:w1:online", "t:w1:street", "t:w1:online:trend", "t:w1:street:trend"]
    for test_id in design_based:
        assert rows[test_id]["flags"] == NOT_COMPUTABLE
        assert rows[test_id]["method"].startswith("not computable: ")
        assert "has no degrees of freedom" in rows[test_id]["method"]
        assert "statistic" not in rows[test_id] and "p" not in rows[test_id]
    # the unweighted sensitivity tests need no design: online by gender among the 9 who answered both
    pearson = rows["t:w1:online:pearson"]
    assert pearson["n"] == 9 and 0 < pearson["p"] <= 1 and "flags" not in pearson
    tests = adjust_tests(pd.DataFrame(rows.values()).assign(report="r"), SIGNIFICANCE, claims=set())
    assert set(tests.loc[tests["test_id"].isin(design_based), "adjustment"]) == {"none"}


def test_every_outcome_gets_the_design_based_tests_and_unweighted_ones_only_unweighted(variables):
    frame = frame_of(ROWS)
    table = spec(variable="advertised", by="entry_cohort", test_family="exploratory")
    design = scope_design(frame, np.ones(len(frame)), "w1", "adjust")
    unweighted = {
        r["test_id"] for r in table_tests(design, table, variables, "w1", weighting="unweighted", df="domain")
    }
    assert {"t:w1:online", "t:w1:online:chisq", "t:w1:online:wald", "t:w1:online:adjwald"} <= unweighted
    assert {"t:w1:online:pearson", "t:w1:online:fisher", "t:w1:street"} <= unweighted
    weighted = {r["test_id"] for r in table_tests(design, table, variables, "w1", weighting="weighted", df="domain")}
    assert "t:w1:online:weighted" in weighted and not any("pearson" in t or "fisher" in t for t in weighted)


def test_a_trend_across_three_waves_is_the_svyglm_slope_over_their_fielding_years(variables):
    from survey_audit.stages.associations import wave_trend_tests
    from survey_audit.stats.significance import trend_test

    parts = []
    for wave, shift in (("w1", 0), ("w2", 3), ("w3", 6)):
        frame = frame_of(ROWS).assign(wave=wave)
        frame["org"] = wave + ":" + frame["org"].astype(str)
        parts.append(frame.iloc[shift % 4 :])  # unequal waves
    pooled = pd.concat(parts, ignore_index=True)
    design = scope_design(pooled, np.ones(len(pooled)), "w1+w2+w3", "adjust")
    fielding = {"w1": (2013, 2014), "w2": (2016, 2017), "w3": (2020, 2021)}
    table = spec(variable="advertised", waves=("w1", "w2", "w3", "w1+w2+w3"))
    rows = {
        r["test_id"]: r
        for r in wave_trend_tests(design, table, variables, "w1+w2+w3", fielding, family="exploratory", df="domain")
    }
    assert sorted(rows) == ["t:w1+w2+w3:online:wave_trend", "t:w1+w2+w3:street:wave_trend"]
    years = pooled["wave"].map({"w1": 2013.5, "w2": 2016.5, "w3": 2020.5})
    online = pooled["advertised__online"].astype("float64")
    direct = trend_test(design, online, years).iloc[0]
    row = rows["t:w1+w2+w3:online:wave_trend"]
    assert (row["statistic"], row["p"], row["ddf"]) == (direct["statistic"], direct["p"], direct["ddf"])
    assert row["family"] == "exploratory" and row["test"] == "trend"


def bundled_variables():
    return load_variables(ROOT / "config" / "variables.yaml")


BUYERS_MODEL = ModelSpec(
    formula='buyers_per_day ~ relevel(advertised_online, ref = "no") + region',
    family="gaussian",
    terms=("advertised_online",),
    test_family="claims",
)


def test_a_table_model_is_tested_as_r_regtermtest_of_svyglm():
    design = models_wave_designs()["wave1"]
    r = models_golden()["waves"]["wave1"]["buyers_on_online_region"]  # svyglm(buyers_per_day ~ advertised_online
    r_test = next(t for t in r["tests"] if t["terms"] == "advertised_online")  # + region), regTermTest
    table = spec(variable="buyers_per_day", kind="mean", by="advertised_online", model=BUYERS_MODEL)
    (row,) = model_tests(design, table, bundled_variables(), "wave1", weighting="unweighted", df="domain")
    assert row["test_id"] == "t:wave1:model" and row["test"] == "model" and row["family"] == "claims"
    assert (row["variable"], row["by"]) == ("buyers_per_day", "advertised_online")
    assert row["statistic"] == pytest.approx(r_test["statistic"], rel=1e-9)
    assert (row["ndf"], row["ddf"]) == (r_test["ndf"], r_test["ddf"]) == (1, 9)
    assert row["p"] == pytest.approx(r_test["p"], rel=1e-7)
    assert row["estimate"] == pytest.approx(r["coef"][r["names"].index("advertised_onlineyes")], rel=1e-9)
    assert row["direction"] == "positive" and row["n"] == r["n"] == 115
    assert row["method"].startswith('design-based Wald F(1, 9) of relevel(advertised_online, ref = "no") in svyglm(')
    # the model test is a primary test: adjusted within its family with the others
    tests = adjust_tests(pd.DataFrame([{**row, "flags": "", "report": "r"}]), SIGNIFICANCE, claims=set())
    assert tests.loc[0, "adjustment"] == "holm" and tests.loc[0, "p_adjusted"] == pytest.approx(row["p"])


def test_a_weighted_model_test_is_named_so_and_a_model_that_cannot_be_fitted_says_why():
    design = models_wave_designs()["wave2_weighted"]
    table = spec(variable="buyers_per_day", kind="mean", model=BUYERS_MODEL, domain="region == 'west'")
    (row,) = model_tests(design, table, bundled_variables(), "wave2", weighting="weighted", df="domain")
    assert row["test_id"] == "t:wave2:model:weighted"
    assert row["flags"] == NOT_COMPUTABLE  # one region in the domain: the term region has a single level
    assert row["method"] == "not computable: the categorical term 'region' takes a single value in the model's rows"
    assert "p" not in row


def test_a_yes_no_outcome_of_a_logistic_model_counts_yes_as_1_whatever_the_order_of_its_categories():
    design = models_wave_designs()["wave2_unweighted"]
    answers = pd.Categorical(design.data["advertised_online"], categories=["yes", "no"])  # as the waves hold it
    design = replace(design, data=design.data.assign(advertised_online=answers))
    r = models_golden()["waves"]["wave2_unweighted"]["online_on_cohort_region_logit"]  # R: svyglm(online ~
    r_test = next(t for t in r["tests"] if t["terms"] == "entry_cohort")  # entry_cohort + region, quasibinomial)
    model = ModelSpec("advertised_online ~ entry_cohort + region", "quasibinomial", ("entry_cohort",), "exploratory")
    table = spec(variable="advertised", by="entry_cohort", model=model)
    (row,) = model_tests(design, table, bundled_variables(), "wave2", weighting="unweighted", df="domain")
    assert row["statistic"] == pytest.approx(r_test["statistic"], rel=1e-7)
    assert row["p"] == pytest.approx(r_test["p"], rel=1e-7) and row["ddf"] == r_test["ddf"] == 19
    # the log odds ratio of being advertised online, from 2004 against before: R's sign, not its negative
    assert row["estimate"] == pytest.approx(r["coef"][r["names"].index("entry_cohortfrom_2004")], rel=1e-7)
    assert row["direction"] == "positive" and row["n"] == r["n"]
