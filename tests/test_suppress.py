"""The suppress stage (survey_audit.stages.suppress): which counts are withheld, recorded for the data holder and
read back by the publish stage. Oracles: the two-wave table worked by hand in conftest (wave 1 has 3 men, a small
count) and :func:`survey_audit.stats.disclosure.protect` called on the same model directly."""

from __future__ import annotations

import pandas as pd
import pytest

from survey_audit import formats
from survey_audit.errors import VerificationError
from survey_audit.stages.disclosure import load_model, release_stages
from survey_audit.stages.suppress import read_suppressed, suppress, suppression_record
from survey_audit.stats.disclosure import Problem, protect


@pytest.fixture
def internal(inputs):
    """The paths of the suppress stage's inputs, for the table worked by hand (conftest ``inputs``)."""
    directory, _, _ = inputs
    return {
        "cells": [str(directory / "cells.parquet")],
        "flows": {wave: str(directory / f"{wave}.flow.csv") for wave in ("wave1", "wave2")},
        "margins": {},
        "references": {},
        "variables": [str(directory / "variables.yaml")],
        "tables": str(directory / "tables.json"),
    }


def test_the_record_holds_what_protect_withholds_and_reads_back_to_it(internal, tmp_path):
    record = tmp_path / "suppressed.csv"
    suppress(**internal, registries=[], min_count=5, suppressed_out=str(record))
    _, _, _, counts = load_model(**internal)
    expected = protect(counts.problem, 5, release_stages(counts, ["wave1", "wave2"]))
    assert read_suppressed(str(record), counts.problem, 5) == expected
    rows = pd.read_csv(record)
    assert len(rows) == len(expected) and rows["cell"].is_monotonic_increasing
    men = rows[rows["cell"] == "n | wave1 | gender | all |  | all | male"]
    assert men["value"].tolist() == [3] and men["reason"].str.startswith("primary").all()
    # one more wave-1 count goes with it (else 50 minus the others gives it back), and a wave-2 or pooled one
    others = rows[rows["reason"].str.startswith("complementary")]["cell"]
    assert others.str.contains(r"\| wave1 \| gender").any()
    assert others.str.contains(r"\| wave2 \| gender|\| wave1\+wave2 \| gender").any()


def test_keys_with_empty_and_numbered_parts_read_back_exactly(tmp_path):
    problem = Problem()
    for key, value in {("rest", "base", "wave1", None): 3, ("flow", "wave1", 2): 7, ("n", "wave1", "x"): 9}.items():
        problem.cell(key, value, published=True)
    withheld = {("rest", "base", "wave1", None), ("flow", "wave1", 2)}
    formats.write_csv(suppression_record(problem, withheld, 5), tmp_path / "s.csv")
    assert read_suppressed(str(tmp_path / "s.csv"), problem, 5) == withheld


def test_a_record_not_made_from_these_results_stops_the_job(tmp_path):
    problem = Problem()
    problem.cell(("n", "wave1", "x"), 3, published=True)
    problem.cell(("n", "wave1", "y"), 40, published=True)
    record = tmp_path / "s.csv"
    formats.write_csv(pd.DataFrame({"cell": ["n | wave1 | x"], "value": [3], "reason": ["primary"]}), record)
    assert read_suppressed(str(record), problem, 5) == {("n", "wave1", "x")}
    formats.write_csv(pd.DataFrame({"cell": ["n | wave9 | x"], "value": [3], "reason": ["primary"]}), record)
    with pytest.raises(VerificationError) as caught:
        read_suppressed(str(record), problem, 5)
    message = caught.value.message
    assert "it names 1 count(s) they do not hold and it leaves 1 count(s) below the threshold printed" in message
    assert "survey-audit run -R suppress" in message and str(record) in message
    formats.write_csv(pd.DataFrame(columns=["cell", "value", "reason"]), record)
    with pytest.raises(VerificationError, match="leaves 1 count"):
        read_suppressed(str(record), problem, 5)  # the small count of 3 would be printed


def test_two_counts_of_one_name_are_a_bug_of_the_model():
    problem = Problem()
    problem.cell(("n", "wave1", None), 4, published=True)
    problem.cell(("n", "wave1", "None"), 4, published=True)
    with pytest.raises(RuntimeError, match="share a name"):
        suppression_record(problem, set(), 5)
