"""The families stage: the wave-to-wave comparisons and how families are adjusted. Oracle: hand computations
(Holm and Benjamini–Hochberg written out, differences of percentages and their Welch–Satterthwaite df)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import SIGNIFICANCE, spec
from survey_audit.config.tables import TableSpec
from survey_audit.errors import ConfigError
from survey_audit.stages.associations import NOT_COMPUTABLE
from survey_audit.stages.families import BOUNDARY, adjust_tests, wave_comparisons


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


def test_a_wave_with_no_estimable_cell_is_not_compared_and_says_why(variables):
    rows = [
        ("w1", "unweighted", "female", 6, 10, 60.0, 5.0, 13),
        ("w2", "unweighted", "female", 0, 0, float("nan"), 0.0, 23),
    ]
    out = wave_comparisons(
        cells_frame(rows), spec(waves=("w1", "w2")), views(variables, spec(waves=("w1", "w2"))), SIGNIFICANCE
    )
    assert [(r["test_id"], r["method"]) for r in out] == [("t:w1-w2", "not computable: w2 has no estimable cell")]
