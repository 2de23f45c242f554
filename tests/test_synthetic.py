"""The synthetic stand-in waves: reproducible to the byte, shaped like the platform export, with exactly the
documented defects, and reproducing the published numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import bundled_plan
from survey_audit.config.codebook import load_codebook
from survey_audit.config.loading import load_yaml
from survey_audit.formats import csv_text
from survey_audit.intake.cleaning import clean
from survey_audit.intake.harmonise import harmonise
from survey_audit.intake.readers import read_raw
from survey_audit.tools.synthetic import generate, largest_remainder

PUBLISHED_N = {"wave1": 115, "wave2": 260}


def paths(root: Path, wave: str) -> tuple[Path, Path, Path]:
    return (
        root / "config" / "synthetic" / f"{wave}.yaml",
        root / "config" / "codebooks" / f"{wave}.yaml",
        root / "config" / "variables.yaml",
    )


@pytest.fixture(scope="module", params=["wave1", "wave2"])
def wave(request):
    root = Path(request.config.rootpath)
    spec, codebook, _ = paths(root, request.param)
    variable_set = bundled_plan().view(request.param)
    generated = generate(spec, codebook, variable_set)
    book = load_codebook(codebook, variable_set, wave=request.param)
    raw = read_raw(root / "resources" / "synthetic" / f"{request.param}.csv", layout=book.layout)
    harmonised = harmonise(raw, book, variable_set)
    defaults = load_yaml(root / "config" / "config.yaml").data["cleaning"]
    book = load_codebook(codebook, variable_set, wave=request.param, cleaning_defaults=defaults)
    cleaned = clean(harmonised.respondents, harmonised.findings, book, variable_set)
    return request.param, root, generated, raw, cleaned


def test_regeneration_is_byte_identical(wave):
    name, root, generated, _, _ = wave
    assert generated.raw_bytes() == (root / "resources" / "synthetic" / f"{name}.csv").read_bytes()
    assert csv_text(generated.defects) == (root / "resources" / "synthetic" / f"{name}.defects.csv").read_text()


def test_export_has_the_platform_layout(wave):
    name, _, _, raw, _ = wave
    assert raw.layout == "platform"
    assert raw.question_text["RecordedDate"] == "Recorded Date"
    assert raw.encoding == ("utf-8-sig" if name == "wave2" else "utf-8")
    assert {"IPAddress", "RecipientEmail", "LocationLatitude", "ResponseId"} <= set(raw.columns)


def test_analysed_n_is_the_published_n(wave):
    name, _, _, _, cleaned = wave
    assert len(cleaned.analysed) == PUBLISHED_N[name]


def test_cleaning_finds_exactly_the_injected_defects(wave):
    _, _, generated, _, cleaned = wave
    defects = generated.defects
    excluded = defects[defects["action"] == "excluded"]
    assert sorted(zip(cleaned.quarantine["source_row"], cleaned.quarantine["rule"])) == sorted(
        zip(excluded["source_row"], excluded["rule"])
    )
    cells = defects[defects["action"].isin(["set to missing", "normalised"])]
    actions = cleaned.actions[cleaned.actions["action"] != "excluded"]
    assert sorted(zip(actions["source_row"], actions["rule"], actions["variable"], actions["action"])) == sorted(
        zip(cells["source_row"], cells["rule"], cells["variable"], cells["action"])
    )
    # every kind of defect is present
    assert set(defects["defect"]) >= {
        "preview_response",
        "test_response",
        "no_consent",
        "duplicate_id",
        "duplicate_answers",
        "partial_complete",
        "ineligible",
        "entered_after_survey_age",
        "stray_text",
        "missing_code",
        "out_of_range",
        "inconsistent",
        "skip_violation",
    }


def test_missing_codes_are_kept_as_their_reason(wave):
    _, _, generated, _, cleaned = wave
    kept = generated.defects[generated.defects["defect"] == "missing_code"]
    for (variable, action), group in kept.groupby(["variable", "action"]):
        reason = action.removeprefix("kept as ")
        column = f"{variable}__missing"
        assert int((cleaned.analysed[column] == reason).sum()) == len(group), variable


def test_largest_remainder_rounds_shares_to_exact_totals():
    assert largest_remainder({"a": 0.5, "b": 0.3, "c": 0.2}, 7) == {"a": 4, "b": 2, "c": 1}
    assert largest_remainder({"a": 1, "b": 1, "c": 1}, 2) == {"a": 1, "b": 1, "c": 0}
    assert sum(largest_remainder({"x": 0.33, "y": 0.33, "z": 0.34}, 115).values()) == 115


def test_synthesize_check_confirms_the_committed_files(root):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "survey_audit.cli", "synthesize", "--check"],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root / "workflow"), "PATH": ""},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("identical") == 4
