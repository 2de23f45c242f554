"""Releases: freezing results with the code version git gives when the release is made, verifying a rerun
against them, and comparing two versions verdicts first. Oracle: hand-made results and throwaway git
repositories whose differences are known by construction."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from conftest import git, git_project
from survey_audit.cli import main
from survey_audit.errors import SurveyAuditError, VerificationError
from survey_audit.provenance import git_state
from survey_audit.tools.releases import (
    CURRENT,
    compare,
    comparison_text,
    freeze,
    input_changes,
    resolve,
    values_text,
    verify,
)

NO_GIT = {"commit": None, "dirty": None, "changed": []}


def manifest(git_version: dict, inputs: dict[str, str] | None = None) -> str:
    """A manifest as a run writes it, reduced to what releases read."""
    inputs = inputs or {"resources/w2.csv": "a" * 64, "config/config.yaml": "c" * 64}
    return json.dumps(
        {
            "code_version": {"package": "0.1.0", "git": git_version},
            "synthetic": True,
            "config_sha256": "x" * 64,
            "registry_versions": {"thorn-2018": 1},
            "inputs": {path: {"sha256": digest, "read_by": ["ingest (wave=wave2)"]} for path, digest in inputs.items()},
            "library_modules": {"workflow/survey_audit/stages/clean.py": "m" * 64},
        }
    )


def fake_results(root: Path, git_version: dict | None = None) -> Path:
    results = root / "results"
    (results / "tables").mkdir(parents=True, exist_ok=True)
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
    pd.DataFrame(
        {
            "entry_id": ["t18-gender-female", "t18-gender-male"],
            "reliability": ["primary", "secondary"],
            "ci_low": ["95.1", "0.4"],  # a column this module does not know: read by name, it changes nothing
            "verdict": ["reproduced", "reproduced"],
        }
    ).to_csv(results / "audit" / "published.csv", index=False)
    (results / "audit" / "summary.txt").write_text("summary\n")
    (results / "manifest.json").write_text(manifest(git_version or NO_GIT))
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
    text = values_text(changes, resolve("v1", results), resolve(CURRENT, results))
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
    text = values_text(changes, resolve("v1", results), resolve(CURRENT, results))
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


def test_a_release_records_the_commit_it_is_made_from(tmp_path):
    repo = git_project(tmp_path)
    first = git(repo, "rev-parse", "HEAD")
    results = fake_results(repo, git_state(repo))
    release = json.loads((freeze("v1", results=results) / "release.json").read_text())
    assert release["code_version"]["git"] == {"commit": first, "dirty": False, "changed": []}
    assert release["allow_dirty"] is False
    assert "results/releases/CHANGELOG.md" in git(repo, "status", "--porcelain")  # a release is no code change

    (repo / "workflow" / "survey_audit" / "module.py").write_text("VALUE = 2\n")
    git(repo, "commit", "-q", "-am", "a change of code")
    second = git(repo, "rev-parse", "HEAD")
    # results made before the commit (their manifest names the first commit) are not released as the second
    with pytest.raises(SurveyAuditError, match=f"made at commit {first[:12]}, but the tree is now at commit"):
        freeze("v2", results=results)
    (results / "manifest.json").write_text(manifest(git_state(repo)))  # what the rerun of the manifest writes
    release = json.loads((freeze("v2", results=results) / "release.json").read_text())
    assert release["code_version"]["git"]["commit"] == second
    changelog = (results / "releases" / "CHANGELOG.md").read_text()
    assert f"- code: survey-audit 0.1.0, commit {second[:12]}\n" in changelog
    assert f"- code: survey-audit 0.1.0, commit {first[:12]}\n" in changelog


def test_a_dirty_tree_is_refused_unless_allowed_and_then_recorded(tmp_path):
    repo = git_project(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    (repo / "config" / "config.yaml").write_text("waves: config/mine.tsv\n")
    results = fake_results(repo, git_state(repo))
    with pytest.raises(SurveyAuditError) as caught:
        freeze("v1", results=results)
    assert "uncommitted changes: config/config.yaml" in caught.value.message
    assert "--allow-dirty" in caught.value.message
    assert not (results / "releases" / "v1").exists()
    release = json.loads((freeze("v1", results=results, allow_dirty=True) / "release.json").read_text())
    assert release["allow_dirty"] is True
    assert release["code_version"]["git"] == {"commit": head, "dirty": True, "changed": ["config/config.yaml"]}
    assert (
        f"- code: survey-audit 0.1.0, commit {head[:12]} with uncommitted changes to config/config.yaml "
        "(released with --allow-dirty)" in (results / "releases" / "CHANGELOG.md").read_text()
    )
    # the command refuses before it runs anything
    code = main(["release", "v2", "--no-run", "--results", str(results)])
    assert code == 2 and not (results / "releases" / "v2").exists()


def two_releases(tmp_path: Path) -> Path:
    """v1, then v2 with one primary verdict flipped, one table cell moved and the raw export changed."""
    results = fake_results(tmp_path)
    freeze("v1", results=results, today=date(2026, 11, 28))
    audit = results / "audit" / "published.csv"
    audit.write_text(audit.read_text().replace("primary,95.1,reproduced", "primary,95.1,differs"))
    table = results / "tables" / "gender.csv"
    table.write_text(table.read_text().replace("254,260,97.692308", "253,260,97.307692"))
    (results / "manifest.json").write_text(
        manifest(NO_GIT, {"resources/w2.csv": "b" * 64, "config/config.yaml": "c" * 64})
    )
    freeze("v2", results=results, today=date(2026, 11, 29))
    return results


def test_a_comparison_puts_verdicts_tables_and_inputs_before_the_values(tmp_path):
    results = two_releases(tmp_path)
    v1, v2 = resolve("v1", results), resolve("v2", results)
    changes = compare(v1, v2)
    text = comparison_text(changes, v1, v2)
    expected = [
        "1. Verdicts of published numbers: 1 changed:",
        "  t18-gender-female [primary]: reproduced → differs  (stopped reproducing)",
        "2. Tables: 2 changed:",
        "  gender: 1 cell(s) changed (2 value(s)), largest change 0.38 points",
        "  audit/published.csv: 1 entr(ies) changed (1 value(s))",
        "3. Inputs whose hashes differ: 1:",
        f"  resources/w2.csv: {'a' * 12} → {'b' * 12}",
        "4. Values: 3 value line(s) omitted; --values shows them, --values FILE writes them to FILE",
    ]
    lines = text.splitlines()
    assert [line for line in lines if line in expected] == expected  # all there, in this order
    assert "97.692308" not in text  # no value without --values
    shown = comparison_text(changes, v1, v2, values=True)
    assert shown.index("4. Values:") < shown.index("gender [wave2/unweighted/all/female] pct: 97.692308 → 97.307692")


def test_the_changelog_lists_the_verdict_changes(tmp_path):
    changelog = (two_releases(tmp_path) / "releases" / "CHANGELOG.md").read_text()
    v2 = changelog.split("## v1")[0]
    assert "- verdicts since v1: 1 changed\n  - t18-gender-female [primary]: reproduced → differs" in v2


def test_diff_prints_the_values_only_when_asked(tmp_path, capsys):
    results = two_releases(tmp_path)
    assert main(["diff", "v1", "v2", "--results", str(results)]) == 0
    assert "3 value line(s) omitted" in capsys.readouterr().out
    out = tmp_path / "values.txt"
    assert main(["diff", "v1", "v2", "--values", str(out), "--results", str(results)]) == 0
    assert f"the values are written to {out}" in capsys.readouterr().out
    assert out.read_text().startswith("3 value(s) differ between v1 and v2:")
    assert main(["diff", "v1", "v2", "--values", "--results", str(results)]) == 0
    assert "gender [wave2/unweighted/all/female] n: 254 → 253" in capsys.readouterr().out


def test_inputs_are_compared_with_a_manifest_of_the_first_format(tmp_path):
    results = two_releases(tmp_path)
    old = results / "releases" / "v1" / "manifest.json"
    data = json.loads(old.read_text())
    data["inputs"] = {path: entry["sha256"] for path, entry in data["inputs"].items()}  # as v1 to v3 wrote them
    old.write_text(json.dumps(data))
    v1, v2 = resolve("v1", results), resolve("v2", results)
    assert input_changes(v1, v2) == [f"resources/w2.csv: {'a' * 12} → {'b' * 12}"]
