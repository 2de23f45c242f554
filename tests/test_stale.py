"""A failed or unfinished run leaves results/STALE, and the report says so until a run of the whole workflow
succeeds; the report then returns to the bytes its job wrote. Oracle: the bytes and times of hand-made files."""

from __future__ import annotations

import os

import pytest

from survey_audit import stale
from survey_audit.errors import SurveyAuditError
from survey_audit.tools.releases import freeze

REPORT = "<!DOCTYPE html><html><head></head><body><main>\r\n<h1>Report</h1></main></body></html>\n"


@pytest.fixture
def results(tmp_path):
    """A results directory with a report whose modification time is known."""
    report = tmp_path / "report" / "index.html"
    report.parent.mkdir()
    report.write_bytes(REPORT.encode("utf-8"))
    os.utime(report, (1_000_000_000, 1_000_000_000))
    return tmp_path


def test_a_failed_run_marks_the_results_and_the_report(results):
    stale.starting(results)
    stale.failed(["audit", "ingest (wave=wave1)"], results)
    assert (results / "STALE").read_text() == "the last run failed at rules audit, ingest (wave=wave1)\n"
    assert stale.reason(results) == "the last run failed at rules audit, ingest (wave=wave1)"
    report = results / "report" / "index.html"
    text = report.read_text()
    assert text.count("THESE RESULTS ARE STALE") == 1
    assert text.startswith("<!DOCTYPE html><html><head></head><body><!-- survey-audit:stale --><div class=")
    assert "— the last run failed at rules audit, ingest (wave=wave1). They may not match" in text
    assert report.stat().st_mtime == 1_000_000_000  # Snakemake does not take it for a new report


def test_a_successful_run_of_everything_restores_the_report_byte_for_byte(results):
    stale.starting(results)
    stale.failed(["audit"], results)
    stale.starting(results)  # the next run: one banner, saying a run is under way
    assert (results / "report" / "index.html").read_text().count("THESE RESULTS ARE STALE") == 1
    assert stale.reason(results) == stale.RUNNING
    stale.succeeded(whole=True, results=results)
    assert not (results / "STALE").exists()
    assert (results / "report" / "index.html").read_bytes() == REPORT.encode("utf-8")
    assert (results / "report" / "index.html").stat().st_mtime == 1_000_000_000


def test_a_run_of_some_targets_leaves_what_the_marker_said_before_it(results):
    stale.starting(results)
    stale.failed([], results)
    stale.starting(results)
    stale.succeeded(whole=False, results=results)
    assert stale.reason(results) == "the last run failed before it finished"
    stale.clear(results)
    stale.starting(results)
    stale.succeeded(whole=False, results=results)  # from current results, a partial run leaves them current
    assert stale.reason(results) is None
    assert (results / "report" / "index.html").read_bytes() == REPORT.encode("utf-8")


def test_a_killed_run_leaves_the_marker_and_release_refuses(results):
    stale.starting(results)  # and nothing after: the run was killed
    with pytest.raises(SurveyAuditError) as caught:
        freeze("v9", results=results)
    assert caught.value.problem == f"the current results are stale: {stale.RUNNING}"
    assert not (results / "releases").exists()
