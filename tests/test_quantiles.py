"""stats/quantiles (svyquantile) against R's survey package: the golden block 'models' of
tests/golden/make_golden.R (``svyquantile`` with survey 4.1's defaults, qrule "math" and the Woodruff interval,
and qrule "school") on R's api data and on the bundled waves. Estimates and intervals at 1e-9 relative (the SE
of a raked design at 1e-7)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import models_api_designs, models_golden, models_wave_designs
from survey_audit.errors import DesignError
from survey_audit.stats import svyquantile
from survey_audit.stats import weighting as W

CLOSED, ITERATIVE = 1e-9, 1e-7
R = models_golden()
API = models_api_designs()
DCLUS1, DSTRAT, RAKED = API["dclus1"], API["dstrat"], API["raked"]


def close(actual, expected, rtol):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol)


# ---- api --------------------------------------------------------------------------------------------------

QUANTILE_CASES = {
    "dclus1_api00_enroll": (lambda: DCLUS1, ["api00", "enroll"], (0.25, 0.5, 0.75), {}),
    "dstrat_api00_enroll": (lambda: DSTRAT, ["api00", "enroll"], (0.25, 0.5, 0.75), {}),
    "dclus1_api00_school_alpha10": (lambda: DCLUS1, ["api00"], (0.1, 0.5, 0.9), {"qrule": "school", "level": 0.9}),
    "dclus1_domain_H_api00": (lambda: DCLUS1, ["api00"], (0.25, 0.5, 0.75), {"domain": "stype == 'H'"}),
    "dclus1_enroll_na": (lambda: DCLUS1, ["enroll_na"], (0.25, 0.5, 0.75), {}),
    "rake_api00": (lambda: RAKED, ["api00"], (0.25, 0.5, 0.75), {}),
    "rake_domain_comp_imp_yes_api00": (lambda: RAKED, ["api00"], (0.25, 0.5, 0.75), {"domain": "`comp.imp` == 'Yes'"}),
}


@pytest.mark.parametrize("case", list(QUANTILE_CASES))
def test_svyquantile_estimates_and_woodruff_intervals_equal_r(case):
    golden = R["api"]["quantile"][case]
    design, variables, probs, options = QUANTILE_CASES[case]
    table = svyquantile(design(), variables, probs, **options)
    rtol = ITERATIVE if case.startswith("rake") else CLOSED
    for variable in variables:
        rows = table[table["variable"] == variable]
        expected = golden[variable]
        assert rows["probability"].tolist() == list(probs)
        close(rows["estimate"], expected["quantile"], CLOSED)
        close(rows[["ci_low", "ci_high"]].to_numpy(), expected["ci"], CLOSED)
        close(rows["se"], expected["se"], rtol)


def test_quantiles_by_group_equal_the_domain_quantiles():
    by = svyquantile(DCLUS1, "api00", by="stype")
    domain = svyquantile(DCLUS1, "api00", domain="stype == 'H'")
    rows = by[by["by_value"] == "H"].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        rows.drop(columns=["by", "by_value"]), domain.drop(columns=["by", "by_value"]), check_exact=True
    )


# ---- the bundled waves ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wave", ["wave1", "wave2_unweighted", "wave2_weighted"])
def test_buyers_per_day_quartiles_equal_r(wave):
    expected = R["waves"][wave]["quantile_buyers"]["buyers_per_day"]
    design = models_wave_designs()[wave]
    q = svyquantile(design, "buyers_per_day")
    close(q["estimate"], expected["quantile"], CLOSED)
    close(q[["ci_low", "ci_high"]].to_numpy(), expected["ci"], CLOSED)
    close(q["se"], expected["se"], ITERATIVE if wave.endswith("weighted") else CLOSED)
    assert (q["n"] == design.data["buyers_per_day"].notna().sum()).all()


def test_refusals_are_clear():
    with pytest.raises(DesignError, match="between 0 and 1"):
        svyquantile(DCLUS1, "api00", (0.5, 1.5))
    with pytest.raises(DesignError, match="replicate design"):
        svyquantile(W.jk1_replicates(DCLUS1), "api00")
    with pytest.raises(DesignError, match="not numeric"):
        svyquantile(DCLUS1, "stype")
    with pytest.raises(DesignError, match="unknown quantile rule"):
        svyquantile(DCLUS1, "api00", qrule="hf7")
