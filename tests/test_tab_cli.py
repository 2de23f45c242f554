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
