"""The coverage study (validation/coverage.py). Oracles: the pipeline's own ``proportions`` (the study's vectorised
estimates, SEs, df and intervals of single samples equal what a table cell would get), binomial theory (a Wald
interval on a large unclustered sample covers a proportion of 50% at its nominal level, missing equally on both
sides), the documented equality of the logit and xlogit intervals of a Taylor design and of the two df
conventions on a whole wave, and the committed ``validation/coverage.csv`` (a scenario rerun at the committed
seed and size gives its rows byte for byte)."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from survey_audit import formats
from survey_audit.stats.design import svydesign
from survey_audit.stats.estimates import CI_METHODS, proportions


def _load():
    spec = importlib.util.spec_from_file_location("coverage_study", ROOT / "validation" / "coverage.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cv = _load()
COMMITTED = ROOT / "validation" / "coverage.csv"


def test_sample_estimates_equal_the_pipelines_table_cells():
    sizes = np.array([14, 12, 11, 10, 9, 7, 5, 4, 3, 2])
    rng = np.random.default_rng(1)
    members, yes = cv.draw(sizes, icc=0.1, p=0.3, domain=0.3, samples=5, rng=rng)
    est = cv.estimate(cv.wave_design(sizes), members, yes)
    for s in range(5):
        # The sample as respondents: in each organisation, its domain members first, the yes answers first.
        org, in_domain, y = [], [], []
        for j, m in enumerate(sizes):
            org += [j] * m
            in_domain += [True] * members[j, s] + [False] * (m - members[j, s])
            y += [1] * yes[j, s] + [0] * (m - yes[j, s])
        frame = pd.DataFrame({"org": org, "y": y})
        design = svydesign(frame, weights=np.ones(len(frame)), cluster="org", lonely_psu="adjust")
        for convention in cv.DF_CONVENTIONS:
            for method in CI_METHODS:
                cell = proportions(
                    design, "y", domain=np.array(in_domain), categories=[0, 1], ci=method, df=convention
                ).iloc[1]
                assert est["p"][s] == pytest.approx(cell["estimate"], rel=1e-12)
                assert est["se"][s] == pytest.approx(cell["se"], rel=1e-9)
                assert est["n"][s] == cell["base_n"]
                assert est[f"df_{convention}"][s] == cell["df"]
                ci = cv.proportion_ci(est["p"][s], est["se"][s], est["n"][s], est[f"df_{convention}"][s], method=method)
                assert ci["ci_low"][0] == pytest.approx(cell["ci_low"], rel=1e-9, abs=1e-12)
                assert ci["ci_high"][0] == pytest.approx(cell["ci_high"], rel=1e-9, abs=1e-12)


def test_wald_covers_a_large_unclustered_binomial_at_its_nominal_level():
    sizes = np.full(200, 5)  # 1,000 respondents in 200 organisations, no intra-organisation correlation
    rows = cv.run_scenario(cv.Scenario("wave9", 0.0, 0.5, 1.0), sizes, samples=2000, seed=7)
    wald = rows[(rows["method"] == "wald") & (rows["df_convention"] == "domain")].iloc[0]
    se = np.sqrt(0.95 * 0.05 / 2000)  # Monte Carlo standard error of a coverage of 95%
    assert abs(wald["coverage"] - 0.95) < 3 * se
    tail = np.sqrt(0.025 * 0.975 / 2000)
    assert abs(wald["miss_below"] - 0.025) < 3.5 * tail and abs(wald["miss_above"] - 0.025) < 3.5 * tail
    assert wald["coverage"] + wald["miss_below"] + wald["miss_above"] + wald["no_interval"] == pytest.approx(1.0)
    # 2 * 1.972 * sqrt(0.25/1000): the expected width of a Wald interval on t(199).
    assert wald["mean_width"] == pytest.approx(2 * 1.97196 * np.sqrt(0.25 / 1000), rel=0.01)


def test_documented_equalities_hold_in_the_study():
    sizes = np.array([14, 12, 11, 10, 10, 9, 9, 8, 7, 7, 6, 5, 4, 3])
    rows = cv.run_scenario(cv.Scenario("wave1", 0.05, 0.2, 1.0), sizes, samples=200, seed=3).set_index(
        ["method", "df_convention"]
    )
    numbers = ["coverage", "miss_below", "miss_above", "mean_width"]
    # logit equals xlogit for Taylor designs (module docstring of survey_audit.stats.estimates).
    assert rows.loc[("logit", "domain"), numbers].tolist() == rows.loc[("xlogit", "domain"), numbers].tolist()
    # A whole wave is a domain with every organisation: both df conventions give the design's 13.
    assert (rows.xs("domain", level=1)[numbers] == rows.xs("design", level=1)[numbers]).all().all()
    assert (rows["mean_df"] == 13).all()
    # The Korn–Graubard interval is the NCHS one before truncation: never wider.
    assert rows.loc[("kg", "domain"), "mean_width"] <= rows.loc[("kg_nchs", "domain"), "mean_width"]


def test_icc_estimator_recovers_known_values():
    groups = np.repeat(np.arange(4), 5)
    assert cv.icc_anova(np.tile([1.0, 0, 1, 0, 1], 4), groups) == pytest.approx(-1 / 4)  # identical groups
    assert cv.icc_anova(np.repeat([1.0, 0, 1, 0], 5), groups) == pytest.approx(1.0)  # groups all-or-nothing
    assert cv.icc_grid(0.001) == cv.ICCS
    assert cv.icc_grid(0.3) == (*cv.ICCS, 0.3)


def test_committed_table_is_a_rerun_of_the_study():
    committed = formats.read_csv(COMMITTED)
    assert {"wave1", "wave2"} == set(committed["wave"])
    assert set(committed["method"]) == set(CI_METHODS)
    samples = int(committed["samples"].iloc[0])
    scenario = cv.Scenario("wave1", 0.05, 0.1, 0.3)
    first = committed[(committed["wave"] == "wave1") & (committed["icc"] == 0.05)]
    sizes = np.array([14, 12, 11, 10, 10, 9, 9, 8, 7, 7, 6, 5, 4, 3])  # wave 1's organisations (config/synthetic)
    assert int(first["organisations"].iloc[0]) == len(sizes) and int(first["respondents"].iloc[0]) == sizes.sum()
    rerun = cv.rounded(cv.run_scenario(scenario, sizes, samples, cv.SEED))
    lines = COMMITTED.read_text(encoding="utf-8").splitlines()
    expected = [lines[0]] + [
        line
        for line in lines[1:]
        if line.startswith(f"wave1,14,115,{scenario.icc:g},{scenario.p:g},{scenario.domain:g},")
    ]
    assert formats.csv_text(rerun).splitlines() == expected


def test_figure_is_deterministic():
    committed = formats.read_csv(COMMITTED)
    part = committed[committed["icc"].isin([0.0, 0.2])]
    first, second = cv.figure_svg(part), cv.figure_svg(part)
    assert first == second
    assert "<dc:date>" not in first and "icc 0.2" in first
