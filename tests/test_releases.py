"""Releases: freezing results, verifying a rerun against them and listing changed cells."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from survey_audit.errors import SurveyAuditError, VerificationError
from survey_audit.tools.releases import CURRENT, compare, diff_text, freeze, resolve, verify


def fake_results(root: Path) -> Path:
    results = root / "results"
    (results / "tables").mkdir(parents=True)
    (results / "audit").mkdir()
    pd.DataFrame(
        {
            "table_id": ["gender", "gender"],
            "wave": ["wave2", "wave2"],
            "weighting": ["unweighted"] * 2,
            "by_value": ["all", "all"],
            "category": ["female", "male"],
            "n": [254, 4],
            "base_n": [260, 260],
            "pct": ["97.692308", "1.538462"],
        }
    ).to_csv(results / "tables" / "gender.csv", index=False)
    pd.DataFrame({"test_id": ["t:wave2"], "p": ["0.01"]}).to_csv(results / "tests.csv", index=False)
    pd.DataFrame({"entry_id": ["t18-gender-female"], "verdict": ["reproduced"]}).to_csv(
        results / "audit" / "published.csv", index=False
    )
    (results / "audit" / "summary.txt").write_text("summary\n")
    (results / "manifest.json").write_text(
        '{"code_version": {"package": "0.1.0", "git": {"commit": "abc", "dirty": false}}, "synthetic": true, '
        '"config_sha256": "x", "registry_versions": {"thorn-2018": 1}}\n'
    )
    return results


def test_freeze_verify_and_diff(tmp_path):
    results = fake_results(tmp_path)
    target = freeze("v1", results=results, note="first", today=date(2026, 11, 28))
    assert (target / "tables" / "gender.csv").read_bytes() == (results / "tables" / "gender.csv").read_bytes()
    assert verify("v1", results).empty
    changelog = (results / "releases" / "CHANGELOG.md").read_text()
    assert "## v1 (2026-11-28)" in changelog and "synthetic stand-in" in changelog

    table = results / "tables" / "gender.csv"
    table.write_text(table.read_text().replace("254,260,97.692308", "253,260,97.307692"))
    with pytest.raises(VerificationError, match="differ from release 'v1' in 2 value"):
        verify("v1", results)
    changes = compare(resolve("v1", results), resolve(CURRENT, results))
    pct = changes[changes["column"] == "pct"].iloc[0]
    assert (pct["table"], pct["cell"], pct["old"], pct["new"]) == (
        "gender",
        "wave2/unweighted/all/female",
        "97.692308",
        "97.307692",
    )
    assert pct["change_points"] == pytest.approx(-0.384616)
    text = diff_text(changes, resolve("v1", results), resolve(CURRENT, results))
    assert "gender [wave2/unweighted/all/female] pct: 97.692308 → 97.307692 (-0.3846 points)" in text

    freeze("v2", results=results, today=date(2026, 11, 29))
    changelog = (results / "releases" / "CHANGELOG.md").read_text()
    assert changelog.index("## v2") < changelog.index("## v1")
    assert "since v1: 2 table value(s) changed in gender" in changelog


def test_releases_are_never_overwritten_and_names_are_checked(tmp_path):
    results = fake_results(tmp_path)
    freeze("v1", results=results)
    with pytest.raises(SurveyAuditError, match="exists already"):
        freeze("v1", results=results)
    with pytest.raises(SurveyAuditError, match="letters, digits"):
        freeze("../escape", results=results)
    with pytest.raises(SurveyAuditError, match="no release called 'v9'"):
        resolve("v9", results)
    shutil.rmtree(results / "tables")
    with pytest.raises(SurveyAuditError, match="holds no tables"):
        resolve(CURRENT, results)


def test_last_digit_rounding_of_another_machine_is_not_a_difference(tmp_path):
    results = fake_results(tmp_path)
    freeze("v1", results=results)
    tests = results / "tests.csv"
    tests.write_text(tests.read_text().replace("0.01", "0.0100000000001"))  # 1e-11 relative: BLAS/CPU rounding
    assert verify("v1", results).empty is False  # it is listed in the comparison ...
    changes = compare(resolve("v1", results), resolve(CURRENT, results))
    assert changes["noise"].tolist() == [True]  # ... as noise
    text = diff_text(changes, resolve("v1", results), resolve(CURRENT, results))
    assert text.startswith("No differences between v1 and current.")
    assert "1 further value(s) differ only in their last digits" in text
    tests.write_text(tests.read_text().replace("0.0100000000001", "0.0100001"))  # 1e-5 relative: a real change
    with pytest.raises(VerificationError, match="in 1 value"):
        verify("v1", results)


def test_a_release_identical_to_the_previous_one(tmp_path):
    results = fake_results(tmp_path)
    freeze("v1", results=results, today=date(2026, 11, 28))
    freeze("v2", results=results, today=date(2026, 11, 29))  # nothing changed since v1
    changes = compare(resolve("v1", results), resolve("v2", results))
    assert changes.empty and changes["noise"].dtype == bool
    assert (
        "since v1: 0 table value(s) changed; 0 test or audit value(s) changed"
        in (results / "releases" / "CHANGELOG.md").read_text()
    )


def test_verify_limited_to_some_waves_ignores_what_a_later_wave_added(tmp_path):
    results = fake_results(tmp_path)
    freeze("v1", results=results)
    table = results / "tables" / "gender.csv"
    table.write_text(table.read_text() + "gender,wave3,unweighted,all,female,250,260,96.153846\n")
    (results / "tables" / "new.csv").write_text(
        "table_id,wave,weighting,by_value,category,n\nnew,wave3,unweighted,all,x,1\n"
    )
    assert len(compare(resolve("v1", results), resolve(CURRENT, results))) == 2  # a row and a table added
    assert compare(resolve("v1", results), resolve(CURRENT, results), waves={"wave1", "wave2"}).empty
    table.write_text(table.read_text().replace("254,260,97.692308", "253,260,97.307692"))
    limited = compare(resolve("v1", results), resolve(CURRENT, results), waves={"wave1", "wave2"})
    assert set(limited["column"]) == {"n", "pct"}  # a change to wave 2 itself still shows
