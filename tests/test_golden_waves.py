"""The pipeline's own table and test functions on the bundled waves, against R's survey package
(tests/golden/make_golden.R, block 'waves'): a clustered table unweighted and raked, its Rao–Scott test, and a
trend test behind a published claim."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import estimation
from survey_audit.config.tables import TableSpec
from survey_audit.config.variables import load_variables
from survey_audit.config.weighting import read_weighting_spec
from survey_audit.stages.associations import table_tests
from survey_audit.stages.conventions import scope_design
from survey_audit.stages.tabulate import tabulate
from survey_audit.stages.weight import apply_weighting, margin_targets

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
R = json.loads((GOLDEN / "waves.json").read_text(encoding="utf-8"))
CLOSED, ITERATIVE = 1e-9, 1e-7


@pytest.fixture(scope="module")
def variables():
    return load_variables(ROOT / "config" / "variables.yaml")


@pytest.fixture(scope="module")
def waves(variables) -> dict[str, pd.DataFrame]:
    data = pd.read_csv(GOLDEN / "data" / "waves.csv", dtype=str, keep_default_na=False, na_values=["NA"])
    for column in data.columns:
        if column in variables and variables[column].categories:
            data[column] = pd.Categorical(data[column], categories=list(variables[column].categories))
    data["region"] = "all"
    return {wave: part.reset_index(drop=True) for wave, part in data.groupby("wave")}


@pytest.fixture(scope="module")
def wave2_designs(waves, variables):
    frame = waves["wave2"]
    unweighted = scope_design(frame, np.ones(len(frame)), "wave2", "adjust")
    spec = read_weighting_spec(ROOT / "config" / "weighting" / "wave2.yaml")
    targets = margin_targets(spec, frame, {"wave1": waves["wave1"]})
    weighted, _ = apply_weighting(frame, unweighted, spec, targets)
    return {"unweighted": unweighted, "weighted": weighted.design}


def test_the_golden_rows_are_the_pipelines_analysed_respondents():
    sys.path.insert(0, str(GOLDEN))
    from export_waves import analysed_waves

    expected = pd.read_csv(GOLDEN / "data" / "waves.csv", dtype=str, keep_default_na=False, na_values=["NA"])
    pd.testing.assert_frame_equal(
        analysed_waves().astype(object).where(lambda f: f.notna(), None),
        expected.astype(object).where(expected.notna(), None),
        check_dtype=False,
    )


def test_raked_weights_equal_rs(wave2_designs):
    np.testing.assert_allclose(wave2_designs["weighted"].weights, R["wave2_weights"], rtol=ITERATIVE)


@pytest.mark.parametrize("weighting", ["unweighted", "weighted"])
def test_a_clustered_table_unweighted_and_raked_equals_r(weighting, waves, variables, wave2_designs):
    frame = waves["wave2"]
    spec = TableSpec(
        id="online_by_cohort",
        title="t",
        chapter="c",
        variable="advertised_online",
        by="entry_cohort",
        waves=("wave2",),
        weighting=(weighting,),
    )
    cells = tabulate(frame, [spec], variables, "wave2", wave2_designs, estimation=estimation(ci="kg"))
    tol = CLOSED if weighting == "unweighted" else ITERATIVE
    for cohort, expected in R[f"wave2_{weighting}_online_by_cohort"].items():
        cell = cells[(cells["by_value"] == cohort) & (cells["category"] == "yes")].iloc[0]
        np.testing.assert_allclose(cell["pct"] / 100, expected["estimate"], rtol=tol)
        np.testing.assert_allclose(cell["pct_se"] / 100, expected["se"], rtol=tol)
        # Korn-Graubard needs the sample size n: the domain's respondents here. R's svyciprop uses nrow(design),
        # which a calibrated design's subset keeps at the whole sample; with a plain design the two agree.
        assert cell["base_n"] == expected["n_domain"]
        np.testing.assert_allclose(
            [cell["pct_ci_low"] / 100, cell["pct_ci_high"] / 100], expected["ci_domain_n"], rtol=tol
        )
        np.testing.assert_allclose(expected["ci"], expected["ci_nrow"], rtol=1e-12)
        if weighting == "unweighted":
            np.testing.assert_allclose([cell["pct_ci_low"] / 100, cell["pct_ci_high"] / 100], expected["ci"], rtol=tol)
        assert cell["df"] == expected["df"]


@pytest.mark.parametrize("weighting", ["unweighted", "weighted"])
def test_its_rao_scott_test_equals_r(weighting, waves, variables, wave2_designs):
    spec = TableSpec(
        id="online_by_cohort",
        title="t",
        chapter="c",
        variable="advertised_online",
        by="entry_cohort",
        waves=("wave2",),
        test_family="claims",
    )
    rows = table_tests(wave2_designs[weighting], spec, variables, "wave2", weighting=weighting, df="domain")
    f = next(r for r in rows if r["test"] == "F")
    expected = R[f"wave2_{weighting}_chisq"]
    tol = CLOSED if weighting == "unweighted" else ITERATIVE
    np.testing.assert_allclose(
        [f["statistic"], f["ndf"], f["ddf"], f["p"]],
        [expected["statistic"], expected["ndf"], expected["ddf"], expected["p"]],
        rtol=tol,
    )


def test_the_trend_test_behind_a_claim_equals_r(waves, variables):
    frame = waves["wave1"]
    spec = TableSpec(
        id="cell_phone_by_period",
        title="t",
        chapter="c",
        variable="had_cell_phone",
        by="recruitment_period",
        waves=("wave1",),
        test_family="claims",
        trend=True,
    )
    design = scope_design(frame, np.ones(len(frame)), "wave1", "adjust")
    rows = table_tests(design, spec, variables, "wave1", weighting="unweighted", df="domain")
    trend = next(r for r in rows if r["test"] == "trend")
    expected = R["wave1_phone_trend"]
    np.testing.assert_allclose(
        [trend["estimate"], trend["statistic"], trend["p"]],
        [expected["estimate"], expected["t"], expected["p"]],
        rtol=ITERATIVE,
    )
    assert trend["direction"] == "decreasing"
