"""``survey-audit tab`` on the api fixtures: numbers against R's golden values, formats, and user errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survey_audit.cli import main

GOLDEN = Path(__file__).resolve().parent / "golden"
CLUS1 = GOLDEN / "data" / "apiclus1.csv"
R = json.loads((GOLDEN / "api.json").read_text(encoding="utf-8"))
DESIGN = ["--weight", "pw", "--cluster", "dnum", "--fpc", "fpc"]


def tab(capsys, *args):
    code = main(["tab", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_output_matches_r(capsys):
    code, out, _ = tab(
        capsys, CLUS1, "--row", "sch.wide", "--col", "stype", *DESIGN, "--ci", "logit", "--format", "json"
    )
    assert code == 0
    doc = json.loads(out)
    rows = pd.DataFrame(doc["estimates"])
    yes = rows[rows["category"] == "Yes"]
    assert yes["stype"].tolist() == ["E", "H", "M"]
    np.testing.assert_allclose(yes[["ci_low", "ci_high"]].to_numpy(), R["domain"]["logit_domain_df"]["ci"], rtol=1e-7)
    np.testing.assert_allclose(yes["se"], R["domain"]["logit_domain_df"]["se"], rtol=1e-9)
    tests = {t["test"]: t for t in doc["tests"]}
    golden = R["svychisq"]["dclus1_sch_wide_stype"]
    for name in ("F", "Wald", "adjWald"):
        np.testing.assert_allclose(
            [tests[name]["statistic"], tests[name]["ndf"], tests[name]["ddf"], tests[name]["p"]],
            [golden[name]["statistic"], *golden[name]["parameter"], golden[name]["p"]],
            rtol=1e-9,
        )
    assert tests["Chisq"]["p"] == pytest.approx(golden["Chisq"]["p"], rel=1e-9)
    assert doc["design"]["design_df"] == 14 and doc["design"]["psus"] == 15


def test_csv_output_carries_full_precision(capsys):
    code, out, _ = tab(capsys, CLUS1, "--row", "sch.wide", *DESIGN, "--format", "csv")
    assert code == 0
    rows = pd.read_csv(io.StringIO(out))
    golden = R["ciprop"]["dclus1_sch_wide"]["level_95"]["beta"]
    yes = rows[rows["category"] == "Yes"].iloc[0]
    np.testing.assert_allclose(
        [yes["estimate"], yes["se"], yes["ci_low"], yes["ci_high"]],
        [golden["estimate"], golden["se"], *golden["ci"]],
        rtol=1e-12,
    )
    assert yes["deff"] == pytest.approx(R["dclus1"]["mean_sch_wide"]["deff"][1], rel=1e-12)
    assert yes["n"] == 160 and yes["base_n"] == 183


def test_csv_with_two_variables_has_the_tests_after_a_blank_line(capsys):
    code, out, _ = tab(capsys, CLUS1, "--row", "sch.wide", "--col", "stype", *DESIGN, "--format", "csv")
    assert code == 0
    estimates, tests = out.split("\n\n")
    assert len(pd.read_csv(io.StringIO(estimates))) == 6
    assert pd.read_csv(io.StringIO(tests))["test"].tolist() == ["F", "Chisq", "Wald", "adjWald"]


def test_table_output_and_parquet_input(capsys, tmp_path):
    parquet = tmp_path / "apistrat.parquet"
    pd.read_csv(GOLDEN / "data" / "apistrat.csv", dtype={"cds": str}).to_parquet(parquet)
    code, out, _ = tab(
        capsys,
        parquet,
        "--row",
        "awards",
        "--col",
        "sch.wide",
        "--weight",
        "pw",
        "--strata",
        "stype",
        "--domain",
        "stype == 'H'",
    )
    assert code == 0
    assert "Rao–Scott F =" in out and "adjusted Wald" in out and "design df 197" in out
    code, out, _ = tab(
        capsys, parquet, "--row", "awards", "--weight", "pw", "--strata", "stype", "--level", "0.9", "--ci", "wilson"
    )
    assert code == 0 and "survey Wilson 90% intervals" in out


def test_zero_cells_are_explained(capsys, tmp_path):
    frame = pd.read_csv(GOLDEN / "data" / "apistrat.csv", dtype={"cds": str})
    frame["high"] = np.where(frame["api00"] > 900, "yes", "no")
    frame["high"] = pd.Categorical(frame["high"], categories=["no", "yes"])
    path = tmp_path / "strat.parquet"
    frame.to_parquet(path)
    code, out, _ = tab(capsys, path, "--row", "high", "--weight", "pw", "--strata", "stype", "--domain", "stype == 'H'")
    assert code == 0 and "exact Clopper–Pearson" in out


@pytest.mark.parametrize(
    ("edit", "args", "needles"),
    [
        (None, ["--row", "nope", *DESIGN], ["--row variable 'nope'", "not a column"]),
        (None, ["--row", "sch.wide", "--weight", "weight"], ["weights column 'weight'"]),
        (
            lambda f: f.assign(pw=np.where(f.index == 3, -1.0, f["pw"])),
            ["--row", "sch.wide", *DESIGN],
            ["negative", "data row 4"],
        ),
        (
            lambda f: f.assign(pw=np.where(f.index == 3, np.nan, f["pw"])),
            ["--row", "sch.wide", *DESIGN],
            ["no weight value", "pw"],
        ),
        (
            lambda f: f.assign(dnum=np.where(f.index < 2, np.nan, f["dnum"])),
            ["--row", "sch.wide", *DESIGN],
            ["no cluster value", "dnum"],
        ),
        (
            None,
            ["--row", "sch.wide", "--weight", "pw", "--cluster", "dnum", "--strata", "cname"],
            ["only one PSU", "Alameda"],
        ),
        (None, ["--row", "sch.wide", *DESIGN, "--domain", "stype = 'M'"], ["domain expression"]),
    ],
)
def test_user_errors_are_messages_with_exit_status_2(capsys, tmp_path, edit, args, needles):
    path = CLUS1
    if edit is not None:
        path = tmp_path / "edited.csv"
        edit(pd.read_csv(CLUS1, dtype={"cds": str})).to_csv(path, index=False)
    code, out, err = tab(capsys, path, *args)
    assert code == 2 and out == ""
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err


def test_missing_and_unknown_files(capsys, tmp_path):
    code, _, err = tab(capsys, tmp_path / "none.csv", "--row", "x")
    assert code == 2 and "does not exist" in err
    other = tmp_path / "data.xlsx"
    other.write_bytes(b"not a spreadsheet")
    code, _, err = tab(capsys, other, "--row", "x")
    assert code == 2 and "unknown data file type" in err


def test_no_traceback_from_the_installed_command(tmp_path):
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "survey_audit.cli",
            "tab",
            str(CLUS1),
            "--row",
            "sch.wide",
            "--cluster",
            "dnum",
            "--strata",
            "cname",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root / "workflow")},
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr and "only one PSU" in done.stderr


# ---- models, t-tests and quantiles (R: tests/golden/models.json) ------------------------------------------------

MODELS = json.loads((GOLDEN / "models.json").read_text(encoding="utf-8"))


def test_glm_json_matches_svyglm_and_regtermtest(capsys):
    code, out, _ = tab(
        capsys, CLUS1, "--glm", "api00 ~ ell + meals + stype", *DESIGN, "--test-terms", "ell,meals", "--format", "json"
    )
    assert code == 0
    doc = json.loads(out)
    golden = MODELS["api"]["glm"]["dclus1_api00_ell_meals_stype"]
    rows = pd.DataFrame(doc["estimates"])
    assert rows["term"].tolist() == golden["names"] and set(rows["df"]) == {golden["df_residual"]}
    for column, key in (("estimate", "coef"), ("se", "se"), ("statistic", "t"), ("p", "p"), ("deff", "deff")):
        np.testing.assert_allclose(rows[column], golden[key], rtol=1e-9)
    np.testing.assert_allclose(rows[["ci_low", "ci_high"]].to_numpy(), golden["ci_95"], rtol=1e-9)
    tests = {t["terms"]: t for t in doc["tests"]}
    assert list(tests) == ["ell", "meals", "stype", "ell + meals"]
    for expected, key in zip(golden["tests"], ("stype", "ell + meals")):
        got = tests[key]
        np.testing.assert_allclose(
            [got["statistic"], got["ndf"], got["ddf"], got["p"]],
            [expected["statistic"], expected["ndf"], expected["ddf"], expected["p"]],
            rtol=1e-9,
        )
    assert doc["design"]["analysis"] == "svyglm"


def test_logistic_glm_takes_a_two_level_text_outcome(capsys):
    code, out, _ = tab(
        capsys,
        GOLDEN / "data" / "apistrat.csv",
        "--glm",
        "sch.wide ~ ell + stype",
        "--family",
        "binomial",
        "--weight",
        "pw",
        "--strata",
        "stype",
        "--fpc",
        "fpc",
        "--format",
        "csv",
    )
    assert code == 0
    coefficients, tests = out.split("\n\n")
    rows = pd.read_csv(io.StringIO(coefficients))
    golden = MODELS["api"]["glm"]["dstrat_schwide_ell_stype_logit"]
    np.testing.assert_allclose(rows["estimate"], golden["coef"], rtol=1e-7)
    np.testing.assert_allclose(rows["se"], golden["se"], rtol=1e-7)
    assert pd.read_csv(io.StringIO(tests))["terms"].tolist() == ["ell", "stype"]


def test_ttest_and_quantiles(capsys):
    code, out, _ = tab(capsys, CLUS1, "--ttest", "api00", "--by", "sch.wide", *DESIGN, "--format", "json")
    assert code == 0
    row = json.loads(out)["estimates"][0]
    golden = MODELS["api"]["ttest"]["dclus1_api00_by_sch_wide"]
    np.testing.assert_allclose(
        [row["estimate"], row["statistic"], row["df"], row["p"], row["ci_low"], row["ci_high"]],
        [golden["estimate"], golden["statistic"], golden["df"], golden["p"], *golden["ci"]],
        rtol=1e-9,
    )
    code, out, _ = tab(capsys, CLUS1, "--quantile", "enroll", "--probs", "0.25,0.5,0.75", *DESIGN, "--format", "csv")
    assert code == 0
    rows = pd.read_csv(io.StringIO(out))
    golden = MODELS["api"]["quantile"]["dclus1_api00_enroll"]["enroll"]
    np.testing.assert_allclose(rows["estimate"], golden["quantile"], rtol=1e-9)
    np.testing.assert_allclose(rows[["ci_low", "ci_high"]].to_numpy(), golden["ci"], rtol=1e-9)
    code, out, _ = tab(capsys, CLUS1, "--quantile", "api00", "--by", "stype", *DESIGN)
    assert code == 0 and "Woodruff" in out and "outside 0 to 1" in out  # small groups: a bound does not exist
    code, out, _ = tab(capsys, CLUS1, "--glm", "api00 ~ ell + stype", *DESIGN)
    assert code == 0 and "stypeH" in out and "Wald tests of terms" in out


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--ttest", "api00"], ["--ttest needs --by"]),
        (["--row", "stype", "--glm", "api00 ~ ell"], ["one analysis", "--row and --glm"]),
        ([], ["give one analysis"]),
        (["--glm", "api00 ~ ell * meals"], ["not supported", "interactions"]),
        (["--glm", "api00 ~ nope"], ["not in the data", "nope"]),
        (["--ttest", "api00", "--by", "stype"], ["two levels"]),
        (["--quantile", "api00", "--probs", "half"], ["--probs"]),
        (["--quantile", "api00", "--probs", "1.5"], ["between 0 and 1"]),
        (["--glm", "api00 ~ ell", "--test-terms", "meals"], ["not in the model"]),
    ],
)
def test_model_request_errors_are_messages(capsys, args, needles):
    code, out, err = tab(capsys, CLUS1, *args, *DESIGN)
    assert code == 2 and out == "" and "Traceback" not in err
    for needle in needles:
        assert needle in err
