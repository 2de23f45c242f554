"""trace: the trail of a printed number, from the audit to the raw file, read from the public outputs and the
manifest's job records. Oracle: hand-made results whose trail is known by construction (which jobs made a cell,
which raw file they read), and the disclosure rule (no suppressed count in the trail)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from survey_audit.cli import main
from survey_audit.errors import SurveyAuditError
from survey_audit.tools.trace import NOT_FOR_PUBLICATION, WITHHELD, trace

H = {n: n * 64 for n in "0123456789"}  # hashes, told apart by their digit
TABLE_COLUMNS = "table_id,wave,domain,by,by_value,variable,category,weighting,n,base_n,pct,pct_se,pct_ci_low,pct_ci_high,ci_method,level,df,flags"


def job(rule: str, wildcards: dict, inputs: dict, config: dict | None = None, modules: list[str] = ()) -> dict:
    return {
        "rule": rule,
        "wildcards": wildcards,
        "inputs": inputs,
        "config": config or {},
        "modules": {f"workflow/survey_audit/{m}": H["9"] for m in modules},
        "inputs_not_read": {},
        "reads_not_declared": {},
        "sha256": H["0"],
    }


def fake_results(root: Path) -> Path:
    results = root / "results"
    (results / "tables").mkdir(parents=True)
    (results / "audit").mkdir()
    (results / "internal" / "cells").mkdir(parents=True)
    (results / "tables" / "advertised.csv").write_text(
        TABLE_COLUMNS
        + "\nadvertised,wave1,all,,all,advertised,online,unweighted,72,115,62.608696,3.324464,55.059367,69.730767,kg,0.95,13,"
        + "\nadvertised,wave2,all,,all,advertised,online,unweighted,,,,,,,kg,0.95,20,suppressed\n"
    )
    pd.DataFrame(
        {
            "table_id": ["advertised"],
            "wave": ["wave2"],
            "by_value": ["all"],
            "category": ["online"],
            "weighting": ["unweighted"],
            "n": [3],
            "base_n": [260],
            "pct": [1.153846],
            "pct_se": [0.6],
            "pct_ci_low": [0.2],
            "pct_ci_high": [3.3],
        }
    ).to_parquet(results / "internal" / "cells" / "wave2.parquet")
    audit = pd.DataFrame(
        {
            "entry_id": ["t15-advertised-online", "t18-advertised-online"],
            "report": ["thorn-2015", "thorn-2018"],
            "section": ["Online", "Online"],
            "figure": ["Key findings", "Figure 2"],
            "wording": ["63% were advertised online.", "1% were advertised online."],
            "printed": ["63%", "1%"],
            "claim": ["percentage", "percentage"],
            "reliability": ["primary", "primary"],
            "table_id": ["advertised", "advertised"],
            "cell": ["advertised/wave1/online", "advertised/wave2/online"],
            "recomputed_display": ["62.61% (72/115)", ""],
            "difference": ["-0.391304347826", ""],
            "verdict": ["reproduced", "reproduced"],
            "checks": ["", ""],
            "ci_high": ["69.7", ""],  # a column trace does not know: it reads columns by name
            "flags": ["", "cell suppressed"],
        }
    )
    audit.to_csv(results / "audit" / "published.csv", index=False)
    internal = audit.assign(recomputed_display=["62.61% (72/115)", "1.15% (3/260)"])
    internal.to_csv(results / "internal" / "audit.csv", index=False)
    outputs = {
        "results/tables/advertised.csv": job(
            "publish",
            {},
            {
                "cells": {
                    "results/internal/cells/wave1.parquet": H["4"],
                    "results/internal/cells/wave2.parquet": H["5"],
                },
                "audit": {"results/internal/audit.csv": H["6"]},
            },
            {"min_count": 5},
            ["stages/publish.py"],
        ),
        "results/internal/audit.csv": job("audit", {}, {"cells": {"results/internal/cells/wave1.parquet": H["4"]}}),
        "results/internal/cells/wave1.parquet": job(
            "tabulate",
            {"scope": "wave1"},
            {"analysed": {"results/clean/wave1.parquet": H["3"]}, "tables": {"plan/wave1.tables.json": H["7"]}},
            {"estimation": {"ci_method": "kg", "level": 0.95}},
            ["stages/tabulate.py", "stats/estimates.py"],
        ),
        "results/internal/cells/wave2.parquet": job(
            "tabulate", {"scope": "wave2"}, {"analysed": {"results/clean/wave2.parquet": H["8"]}}
        ),
        "results/clean/wave1.parquet": job(
            "clean", {"wave": "wave1"}, {"respondents": {"results/ingest/wave1.parquet": H["2"]}}
        ),
        "results/clean/wave2.parquet": job("clean", {"wave": "wave2"}, {}),
        "results/ingest/wave1.parquet": job(
            "ingest",
            {"wave": "wave1"},
            {"raw": {"resources/w1.csv": H["1"]}, "codebook": {"config/codebooks/wave1.yaml": H["7"]}},
        ),
    }
    (results / "manifest.json").write_text(
        json.dumps(
            {
                "code_version": {"package": "0.1.0", "git": {"commit": "f" * 40, "dirty": False, "changed": []}},
                "config_sha256": H["8"],
                "synthetic": True,
                "outputs": outputs,
            }
        )
    )
    return results


def test_the_trail_of_an_audit_entry_runs_from_the_printed_value_to_the_raw_file(tmp_path):
    text = trace("t15-advertised-online", results=fake_results(tmp_path))
    expected = [
        "Trail of t15-advertised-online (thorn-2015, Online, Key findings)",
        '  printed:     63%: "63% were advertised online."',
        "  recomputed:  62.61% (72/115), difference -0.39 points: reproduced [primary]",
        "  estimate:    pct 62.608696, 95% CI 55.06 to 69.73 (kg), se 3.324464, df 13",
        "  table cell:  results/tables/advertised.csv, row 2: wave wave1, advertised = online, unweighted; "
        "n 72 of base 115",
        "  made by (newest first):",
        "    publish: wrote results/tables/advertised.csv",
        "      config: min_count=5",
        "      code: stages/publish.py",
        "    tabulate (scope=wave1): wrote results/internal/cells/wave1.parquet",
        "      config: estimation.ci_method=kg, estimation.level=0.95",
        "      code: stages/tabulate.py, stats/estimates.py",
        "    clean (wave=wave1): wrote results/clean/wave1.parquet",
        "    ingest (wave=wave1): wrote results/ingest/wave1.parquet",
        "  files read that no job wrote (sha256 as the jobs read them):",
        f"    RAW resources/w1.csv (raw): {H['1']}",
        f"    config/codebooks/wave1.yaml (codebook): {H['7']}",
        f"    plan/wave1.tables.json (tables): {H['7']}",
    ]
    lines = text.splitlines()
    assert [line for line in lines if line in expected] == expected  # every step, in this order
    run = f"run: survey-audit 0.1.0, commit {'f' * 40}; configuration sha256 {H['8']}; synthetic data"
    assert " ".join(text.split()).endswith(run)  # the last step (wrapped to the width of a terminal)
    # only the jobs behind this cell: not the other wave's, not the audit job that publish also read
    assert "wave2" not in text and "audit (" not in text and "\n    audit:" not in text


def test_a_table_cell_is_traced_too_with_the_entries_that_print_it(tmp_path):
    results = fake_results(tmp_path)
    for target, cell in (
        ("advertised", "wave1/online"),
        ("advertised", "advertised/wave1/online"),
        ("advertised/wave1/online", None),
    ):
        text = trace(target, cell, results=results)
        assert text.startswith("Trail of advertised/wave1/online\n")
        assert "  printed as:  t15-advertised-online: 63%, reproduced" in text
        assert f"    RAW resources/w1.csv (raw): {H['1']}" in text


def test_a_suppressed_cell_is_withheld_unless_internal_values_are_asked_for(tmp_path):
    results = fake_results(tmp_path)
    text = trace("t18-advertised-online", results=results)
    assert f"  recomputed:  {WITHHELD}: reproduced [primary] (cell suppressed)" in text
    assert f"n {WITHHELD} of base {WITHHELD}" in text and f"pct {WITHHELD}" in text
    assert "3/260" not in text and "1.15" not in text and NOT_FOR_PUBLICATION not in text
    internal = trace("t18-advertised-online", results=results, internal=True)
    assert internal.startswith(NOT_FOR_PUBLICATION)
    assert "  recomputed:  1.15% (3/260) (internal): reproduced" in internal
    assert "n 3 of base 260" in internal and "pct 1.153846 (internal values), 95% CI 0.20 to 3.30" in internal


def test_unknown_targets_and_missing_results_are_one_clear_message(tmp_path, capsys):
    results = fake_results(tmp_path)
    with pytest.raises(SurveyAuditError, match="no audit entry or table called 't15-advertised-onlin'") as caught:
        trace("t15-advertised-onlin", results=results)
    assert "did you mean t15-advertised-online" in caught.value.message
    with pytest.raises(SurveyAuditError, match="'advertised' is a table: name the cell"):
        trace("advertised", results=results)
    with pytest.raises(SurveyAuditError, match="the table has no cell 'advertised/wave3/online'"):
        trace("advertised", "wave3/online", results=results)
    assert main(["trace", "t15-advertised-online", "--results", str(tmp_path / "nothing")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("Problem in ") and "there are no results to trace" in error
    assert "Traceback" not in error and "survey-audit run" in error
