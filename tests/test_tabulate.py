"""The tabulate stage on hand-computable cases: counts, percentages, design-based SE with organisations as
clusters, the NCHS presentation flags, multi-select bases, domains and by-groups. Oracle: the textbook formulas
written out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import ROWS, estimation, frame_of
from survey_audit.config.tables import ALL, TableSpec
from survey_audit.stages.conventions import cell_flags, scope_design
from survey_audit.stages.tabulate import tabulate


def cluster_se(y: np.ndarray, org: np.ndarray) -> float:
    """The with-replacement Taylor SE of a mean of 0/1 values, written out from the textbook formula."""
    n, p = len(y), y.mean()
    clusters = sorted(set(org))
    totals = np.array([sum((y[i] - p) / n for i in range(n) if org[i] == c) for c in clusters])
    k = len(clusters)
    return math.sqrt(k / (k - 1) * ((totals - totals.mean()) ** 2).sum())


def run(frame, variables, **spec):
    table = TableSpec(id="t", title="t", chapter="c", variable=spec.pop("variable"), waves=("w1",), **spec)
    design = scope_design(frame, np.ones(len(frame)), "w1", "adjust")
    return tabulate(frame, [table], variables, "w1", {"unweighted": design}, estimation=estimation(small_base=5))


def test_single_choice_cells(variables):
    frame = frame_of(ROWS)
    cells = run(frame, variables, variable="gender").set_index("category")
    assert list(cells.index) == ["female", "male", "other"]
    assert cells.loc["female", ["n", "base_n", "excluded_n"]].tolist() == [7, 9, 1]
    assert cells.loc["female", "pct"] == pytest.approx(100 * 7 / 9, rel=1e-12)
    valid = frame["gender"].notna().to_numpy()
    y = (frame["gender"] == "female").to_numpy()[valid].astype(float)
    assert cells.loc["female", "pct_se"] == pytest.approx(
        100 * cluster_se(y, frame["org"].to_numpy()[valid]), rel=1e-10
    )
    assert cells.loc["female", "df"] == 3  # four organisations, one stratum
    assert cells.loc["other", "pct"] == 0 and "zero_or_full" in cells.loc["other", "flags"]
    assert cells.loc["other", "pct_ci_low"] == 0 and cells.loc["other", "pct_ci_high"] > 0  # never NaN
    assert (cells["by_value"] == ALL).all()
    assert cells["ci_method"].tolist() == ["kg", "kg", "exact_boundary"]  # the documented rule for 0% and 100%


def test_multi_select_base_is_those_who_answered_the_item(variables):
    frame = frame_of(ROWS)
    cells = run(frame, variables, variable="advertised").set_index("category")
    assert cells.loc["online", ["n", "base_n", "excluded_n"]].tolist() == [5, 9, 1]
    assert cells.loc["street", ["n", "base_n"]].tolist() == [5, 9]
    assert cells.loc["online", "pct"] + cells.loc["street", "pct"] > 100  # options are not exclusive


def test_domain_and_by_groups(variables):
    frame = frame_of(ROWS)
    cells = run(
        frame,
        variables,
        variable="gender",
        by="entry_cohort",
        domain="advertised__online == True",
        domain_label="advertised online",
    )
    female = cells[cells["category"] == "female"].set_index("by_value")
    assert female.loc["from_2004", ["n", "base_n"]].tolist() == [4, 5]  # online, all from 2004: A, A, B, C and D (male)
    assert female.loc["before_2004", "base_n"] == 0 and female.loc["before_2004", "flags"] == "empty_base"
    assert (cells["domain"] == "advertised online").all()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((50, 100, 0.5, 0.40, 0.60, 100, 20), ""),  # 20 points wide, 40% of the estimate: presented
        ((5, 20, 0.25, 0.08, 0.50, 20, 20), "small_base;nchs_suppress"),  # effective n below 30
        ((40, 100, 0.4, 0.22, 0.60, 60, 20), "nchs_suppress"),  # 38 points wide
        ((3, 100, 0.03, 0.01, 0.09, 90, 20), "nchs_suppress"),  # 8 points wide, 267% of the estimate
        ((97, 100, 0.97, 0.91, 0.99, 90, 20), "nchs_complement"),  # 8 points wide, 267% of the complement
        ((50, 100, 0.5, 0.40, 0.60, 100, 5), "nchs_review"),  # fewer than 8 degrees of freedom
        ((0, 40, 0.0, 0.0, 0.09, 40, 20), "zero_or_full;nchs_review"),
    ],
)
def test_nchs_presentation_flags(args, expected):
    assert cell_flags(*args, small_base=30) == expected


def test_waves_are_stacked_as_pandas_concat_stacks_them():
    # Oracle: pandas.concat. Waves with different columns (a variable one wave lacks), categories (organisations)
    # and dtypes are stacked one column at a time, to the same columns, dtypes and values.
    import pandas as pd

    from survey_audit.stages.tabulate import stack

    def waves():
        return [
            pd.DataFrame(
                {
                    "wave": ["w1", "w1"],
                    "org": pd.Categorical(["a", "b"]),
                    "age": pd.array([14, None], dtype="Int64"),
                    "online": pd.array([True, None], dtype="boolean"),
                    "_weight": [1.0, 2.0],
                }
            ),
            pd.DataFrame(
                {
                    "wave": ["w2", "w2", "w2"],
                    "org": pd.Categorical(["c", "a", None]),
                    "online": pd.array([False, True, True], dtype="boolean"),
                    "cohort": pd.Categorical(["new", None, "old"]),
                    "_weight": [0.5, 1.5, 1.0],
                }
            ),
        ]

    frames = waves()
    stacked = stack(frames)
    pd.testing.assert_frame_equal(stacked, pd.concat(waves(), ignore_index=True), check_exact=True)
    assert all(frame.shape[1] == 0 for frame in frames)  # each wave's columns were let go once stacked


def test_pooled_clusters_are_the_wave_and_organisation_joined():
    # Oracle: the text formula, row by row: each wave's organisations distinct, categories sorted, missing kept.
    import pandas as pd

    from survey_audit.stages.tabulate import pooled_clusters

    wave = pd.Series(["w2", "w1", "w1", "w2", "w1", "w2"], dtype="str")
    org = pd.Series(pd.Categorical(["b", "b", "a", None, "b", "a"]))
    expected = (wave.astype(str) + ":" + org.astype(str)).astype("category")
    got = pd.Series(pooled_clusters(wave, org))
    pd.testing.assert_series_equal(got, expected, check_exact=True)
    assert list(got.cat.categories) == ["w1:a", "w1:b", "w2:a", "w2:b"]
