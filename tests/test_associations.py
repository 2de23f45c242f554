"""The associations stage: which tests are run, how they are named, and how families are adjusted. Oracle: hand
computations (Holm and Benjamini–Hochberg written out); the test statistics themselves are checked against R in
test_golden_r.py and test_golden_waves.py, and a table's model test against R's regTermTest(svyglm(...)) on the
bundled wave 1 (tests/golden/models.json)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, ROWS, frame_of, models_golden, models_wave_designs
from survey_audit.config.tables import ModelSpec, TableSpec
from survey_audit.config.variables import load_variables
from survey_audit.errors import ConfigError
from survey_audit.stages.associations import (
    BOUNDARY,
    NOT_COMPUTABLE,
    adjust_tests,
    model_tests,
    table_tests,
    wave_comparisons,
)
from survey_audit.stages.conventions import Significance, scope_design

SIGNIFICANCE = Significance(
    families={"claims": "holm", "exploratory": "bh"},
    claims_family="claims",
    wave_family="exploratory",
    wave_df="satterthwaite",
)


def spec(**fields) -> TableSpec:
    return TableSpec(**{"id": "t", "title": "t", "chapter": "c", "variable": "gender", "waves": ("w1",), **fields})


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


def test_a_wave_whose_cells_have_no_degrees_of_freedom_is_not_compared(variables):
    rows = [
        ("w1", "unweighted", "female", 60, 100, 60.0, 0.0, 0),  # one organisation: SE 0 on df 0
        ("w2", "unweighted", "female", 70, 100, 70.0, 5.0, 23),
    ]
    table = spec(waves=("w1", "w2"))
    (row,) = wave_comparisons(cells_frame(rows), table, views(variables, table), SIGNIFICANCE)
    assert (row["test_id"], row["flags"]) == ("t:w1-w2:female", NOT_COMPUTABLE)
    assert row["method"] == (
        "not computable: w1's estimate has no degrees of freedom (one PSU per stratum), so no design SE"
    )
    assert "statistic" not in row and "p" not in row


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


def frame_of_tests(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["test_id", "test", "family", "p", "flags"])
    return frame.assign(table_id="t", report="r")


def test_families_are_adjusted_apart_and_cited_tests_form_the_claims_family():
    tests = frame_of_tests(
        [
            ("a", "F", "exploratory", 0.01, ""),
            ("b", "F", "exploratory", 0.04, ""),
            ("c", "F", "exploratory", 0.03, ""),
            ("d", "trend", "exploratory", 0.02, ""),  # cited by a claim
            ("e", "F", "exploratory", 0.03, ""),  # cited, with the claim family's Holm
            ("a:pearson", "pearson", "exploratory", 0.001, ""),  # sensitivity: never adjusted
            ("w", "wave_difference", "exploratory", 0.0001, BOUNDARY),  # imprecise: left out of its family
        ]
    )
    out = adjust_tests(tests, SIGNIFICANCE, claims={"d", "e"}).set_index("test_id")
    # BH over a, b, c: sorted 0.01, 0.03, 0.04 → 0.03, 0.04, 0.04.
    assert out.loc[["a", "c", "b"], "p_adjusted"].tolist() == pytest.approx([0.03, 0.04, 0.04])
    assert set(out.loc[["a", "b", "c"], "adjustment"]) == {"bh"}
    # Holm over d, e: 2 × 0.02 = 0.04, then max(0.04, 1 × 0.03) = 0.04.
    assert out.loc[["d", "e"], "family"].tolist() == ["claims", "claims"]
    assert out.loc[["d", "e"], "p_adjusted"].tolist() == pytest.approx([0.04, 0.04])
    for test_id in ("a:pearson", "w"):
        assert out.loc[test_id, "adjustment"] == "none" and np.isnan(out.loc[test_id, "p_adjusted"])


def test_a_family_the_configuration_does_not_declare_is_an_error():
    tests = frame_of_tests([("a", "F", "undeclared", 0.01, "")])
    with pytest.raises(ConfigError, match="family 'undeclared', which config/config.yaml does not define"):
        adjust_tests(tests, SIGNIFICANCE, claims=set())


def views(variables, table: TableSpec) -> dict:
    """Every wave of the table sees the variables alike."""
    return {wave: variables for wave in table.waves}


def cells_frame(rows: list[tuple]) -> pd.DataFrame:
    """Cells of table t: (wave, weighting, category, n, base_n, pct, pct_se, df)."""
    frame = pd.DataFrame(rows, columns=["wave", "weighting", "category", "n", "base_n", "pct", "pct_se", "df"])
    return frame.assign(table_id="t", by_value="all")


def test_every_pair_of_waves_is_compared_once_per_hypothesis(variables):
    # A yes/no variable: the 'no' comparison is the complement of the 'yes' one, the same test.
    rows = []
    for wave, yes in (("w1", 40), ("w2", 50), ("w3", 70)):
        rows += [
            (wave, "unweighted", "yes", yes, 100, float(yes), 5.0, 13),
            (wave, "unweighted", "no", 100 - yes, 100, 100.0 - yes, 5.0, 13),
        ]
    table = spec(variable="consent", waves=("w1", "w2", "w3", "w1+w2+w3"))
    out = {r["test_id"]: r for r in wave_comparisons(cells_frame(rows), table, views(variables, table), SIGNIFICANCE)}
    assert sorted(out) == ["t:w1-w2:yes", "t:w1-w3:yes", "t:w2-w3:yes"]
    w13 = out["t:w1-w3:yes"]
    assert w13["estimate"] == pytest.approx(30.0)  # percentage points
    assert w13["statistic"] == pytest.approx(30 / np.sqrt(50)) and w13["ddf"] == pytest.approx(26)
    assert w13["family"] == "exploratory" and w13["flags"] == ""


def test_a_comparison_with_a_zero_percent_cell_is_flagged(variables):
    rows = [
        ("w1", "unweighted", "female", 0, 20, 0.0, 0.0, 13),
        ("w2", "unweighted", "female", 5, 20, 25.0, 9.0, 23),
        ("w1", "unweighted", "male", 20, 20, 100.0, 0.0, 13),
        ("w2", "unweighted", "male", 15, 20, 75.0, 9.0, 23),
    ]
    table = spec(waves=("w1", "w2"))
    out = {r["category"]: r for r in wave_comparisons(cells_frame(rows), table, views(variables, table), SIGNIFICANCE)}
    assert out["female"]["flags"] == BOUNDARY and out["male"]["flags"] == BOUNDARY


def test_a_weighted_comparison_says_which_side_is_weighted(variables):
    rows = [
        ("w1", "unweighted", "female", 60, 100, 60.0, 5.0, 13),
        ("w2", "unweighted", "female", 70, 100, 70.0, 5.0, 23),
        ("w2", "weighted", "female", 66, 100, 64.0, 6.0, 23),
    ]
    table = spec(waves=("w1", "w2"), weighting=("unweighted", "weighted"))
    out = {r["test_id"]: r for r in wave_comparisons(cells_frame(rows), table, views(variables, table), SIGNIFICANCE)}
    assert out["t:w1-w2:female"]["estimate"] == pytest.approx(10.0)
    weighted = out["t:w1-w2:female:weighted"]
    assert weighted["estimate"] == pytest.approx(4.0) and weighted["method"].endswith("(w1 unweighted vs w2 weighted)")


def test_a_test_belongs_to_the_report_of_its_latest_wave():
    from survey_audit.stages.conventions import release_scope

    reports = {"w1": "report-2015", "w2": "report-2018", "w3": "unpublished"}
    fielding = {"w1": (2013, 2014), "w2": (2016, 2017), "w3": (2020, 2021)}
    assert release_scope("w1", reports, fielding) == "report-2015"
    assert release_scope("w1-w2", reports, fielding) == "report-2018"
    assert release_scope("w1+w2", reports, fielding) == "report-2018"
    assert release_scope("w2-w3", reports, fielding) == "unpublished"
    # Adjusting within report: the same two tests adjusted, with or without a later wave's test beside them.
    tests = frame_of_tests([("a", "F", "exploratory", 0.01, ""), ("b", "F", "exploratory", 0.04, "")])
    alone = adjust_tests(tests, SIGNIFICANCE, claims=set())
    later = pd.concat(
        [tests, frame_of_tests([("c", "F", "exploratory", 0.001, "")]).assign(report="later")], ignore_index=True
    )
    with_later = adjust_tests(later, SIGNIFICANCE, claims=set()).set_index("test_id")
    assert with_later.loc[["a", "b"], "p_adjusted"].tolist() == alone["p_adjusted"].tolist()


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


def test_a_wave_with_no_estimable_cell_is_not_compared_and_says_why(variables):
    rows = [
        ("w1", "unweighted", "female", 6, 10, 60.0, 5.0, 13),
        ("w2", "unweighted", "female", 0, 0, float("nan"), 0.0, 23),
    ]
    out = wave_comparisons(
        cells_frame(rows), spec(waves=("w1", "w2")), views(variables, spec(waves=("w1", "w2"))), SIGNIFICANCE
    )
    assert [(r["test_id"], r["method"]) for r in out] == [("t:w1-w2", "not computable: w2 has no estimable cell")]


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
