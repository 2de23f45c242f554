"""check-wave: a wave's sheet row, codebook and raw file checked against each other, every problem at once.
Oracle: small hand-written waves whose every problem is planted and counted by hand."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pyreadstat
import pytest

from conftest import CLEANING_DEFAULTS, CODEBOOK, HEADER, VARIABLES, write
from survey_audit.config.tables import ALL, PAIR_SEPARATOR, POOL_SEPARATOR, POOLED
from survey_audit.errors import ConfigError, Problems
from survey_audit.intake.check import check_wave, check_waves
from survey_audit.tools.releases import CURRENT

GOOD = [
    'P1,A,0,1,2016-05-01,1,25,14,2005,1,1,1,,"1,2",hello there,10.0.0.1',
    "P2,B,0,1,2016-05-02,2,30,11,1997,2,,,1,,,10.0.0.2",
    "P3,A,0,1,2016-05-03,1,22,15,2009,1,2,1,1,3,,10.0.0.3",
]


def project(tmp_path, rows=GOOD, codebook=CODEBOOK, header=HEADER, raw_name="raw.csv"):
    """A one-wave project: its configuration, wave sheet, variables, codebook and raw file."""
    write(tmp_path / "variables.yaml", VARIABLES)
    write(tmp_path / "codebook.yaml", codebook)
    if raw_name.endswith(".csv"):
        (tmp_path / raw_name).write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    write(
        tmp_path / "waves.tsv",
        "wave\tlabel\traw\tcodebook\tfielded_from\tfielded_to\treport\tsynthetic\n"
        f"w1\tWave 1\t{raw_name}\tcodebook.yaml\t2016\t2016\t\tno\n",
    )
    return {"waves": "waves.tsv", "variables": "variables.yaml", "cleaning": CLEANING_DEFAULTS}


def test_a_good_wave_has_no_problems(tmp_path):
    result = check_wave(project(tmp_path), "w1", tmp_path)
    assert result.problems == [] and result.text() == "w1: no problems\n"


def test_every_problem_of_codebook_columns_and_values_at_once(tmp_path):
    misspelt = CODEBOOK.replace("  had_phone: {column: phone,", "  had_fone: {column: phone,")
    codebook = misspelt.replace("age_entered: {column: age_entered}", "age_entered: {column: age_entered_v1}")
    rows = [*GOOD, "P4,C,0,1,2016-05-04,5,28,13,2001,2,,,1,,,10.0.0.4", "P5,A,0,1,2016-05-05,5,29,12,2002,2,,,1,,,x"]
    config = project(tmp_path, rows, codebook)
    result = check_wave(config, "w1", tmp_path)
    messages = [p.message for p in result.problems]
    # The codebook: the misspelt variable (and what it leaves unmapped) ...
    assert any("'had_fone' is not a harmonised variable" in m for m in messages)
    assert any("'had_phone' lists wave 'w1'" in m for m in messages)
    # ... the raw file against the codebook's columns: the renamed one, with its likely new name ...
    missing = next(p for p in result.problems if "no column 'age_entered_v1'" in p.message)
    assert "renamed 'age_entered'?" in missing.hint
    assert any("does not mention: 'age_entered'" in m for m in messages)
    # ... and the values of the columns that are there: an unknown code and an unknown organisation.
    assert any("unknown codes of 'gender': '5' in 2 row(s)" in m for m in messages)
    assert any("unknown organisation codes: 'C'" in m for m in messages)
    with pytest.raises(Problems) as info:  # all in one run, also at the start of a workflow run
        check_waves(config, tmp_path)
    assert "age_entered_v1" in info.value.message and "had_fone" in info.value.message


def test_unknown_codes_are_counted_with_their_first_rows(tmp_path):
    rows = [*GOOD, "P4,C,0,1,2016-05-04,5,28,13,2001,2,,,1,,,10.0.0.4", "P5,A,0,1,2016-05-05,5,29,12,2002,2,,,1,,,x"]
    result = check_wave(project(tmp_path, rows), "w1", tmp_path)
    messages = {p.column: p.message for p in result.problems}
    assert "1 unknown codes of 'gender': '5' in 2 row(s) (first rows 5, 6)" in messages["gender"]
    assert "1 unknown organisation codes: 'C' in 1 row(s) (first rows 5)" in messages["org"]


def test_long_unknown_values_are_described_not_shown(tmp_path):
    secret = "someone@example.org wrote this"
    rows = [*GOOD, f"P4,A,0,1,2016-05-04,{secret},28,13,2001,2,,,1,,,x"]
    result = check_wave(project(tmp_path, rows), "w1", tmp_path)
    (problem,) = result.problems
    assert secret not in problem.message and "1 unknown codes of 'gender': a text of 30 characters" in problem.message


def labelled_wave(tmp_path, labels: dict, codebook: str = CODEBOOK):
    """A one-wave project whose raw file is an SPSS export with the given value labels (two respondents)."""
    frame = pd.DataFrame(
        {c: [""] * 2 for c in HEADER.split(",")} | {"pid": ["P1", "P2"], "org": ["A", "B"], "status": ["0", "0"]}
    )
    frame["consent"] = [1.0, 1.0]
    frame["gender"] = [1.0, 2.0]
    frame["phone"] = [1.0, 98.0]
    frame["recorded"] = ["2016-05-01", "2016-05-02"]
    config = project(tmp_path, codebook=codebook, raw_name="raw.sav")
    pyreadstat.write_sav(frame, str(tmp_path / "raw.sav"), variable_value_labels=labels)
    return config


def test_value_labels_that_contradict_the_codebook(tmp_path):
    config = labelled_wave(tmp_path, {"gender": {1.0: "Male", 2.0: "Female"}})
    result = check_wave(config, "w1", tmp_path)
    flagged = [p for p in result.problems if p.column == "gender"]
    assert [p.problem for p in flagged] == [
        "code '1' of 'gender' is labelled 'Male' in the file, but the codebook maps it to 'female' (Female)",
        "code '2' of 'gender' is labelled 'Female' in the file, but the codebook maps it to 'male' (Male)",
    ]
    assert [p.expected for p in flagged] == [
        "codes that mean what their labels say: '1' → male",
        "codes that mean what their labels say: '2' → female",
    ]


def test_value_labels_agree_whatever_their_case_punctuation_or_code_prefix(tmp_path):
    labels = {
        "gender": {1.0: "1. FEMALE", 2.0: " male ", 3.0: "Other!"},
        "phone": {1.0: "Yes", 2.0: "No", 98.0: "Don’t know", 99.0: "99"},  # 99: only its own code
        "consent": {1.0: "yes", 2.0: "no"},
    }
    assert check_wave(labelled_wave(tmp_path, labels), "w1", tmp_path).problems == []


def test_a_value_label_that_names_no_category_is_a_problem_until_the_codebook_accepts_it(tmp_path):
    labels = {"gender": {1.0: "Woman or girl", 2.0: "Male"}}
    (problem,) = check_wave(labelled_wave(tmp_path, labels), "w1", tmp_path).problems
    assert (problem.column, problem.problem) == (
        "gender",
        "code '1' of 'gender' is labelled 'Woman or girl' in the file, which does not name 'female' (Female), the"
        " category the codebook maps it to",
    )
    assert problem.hint.startswith("if 'Woman or girl' does mean female, add \"Woman or girl\": female to the codes")
    accepting = CODEBOOK.replace('"Female": female}', '"Female": female, "Woman or girl": female}')
    assert check_wave(labelled_wave(tmp_path, labels, accepting), "w1", tmp_path).problems == []
    # a label the codebook maps to another category is a contradiction, not a new wording
    inverted = {"gender": {1.0: "Male", 2.0: "Woman or girl"}}
    problems = check_wave(labelled_wave(tmp_path, inverted, accepting), "w1", tmp_path).problems
    assert [p.expected for p in problems] == [
        "codes that mean what their labels say: '1' → male",
        "codes that mean what their labels say: '2' → female",
    ]


@pytest.mark.parametrize(
    "wave, problem",
    [
        (POOLED, "'pooled' is reserved"),  # a table's pooled scopes
        (ALL, "'all' is reserved"),  # the by-value of a table without a by-variable
        (CURRENT, "'current' is reserved"),  # the current results, beside the releases
        (f"w1{POOL_SEPARATOR}w2", "'w1+w2' is not in the form this key takes"),  # a pool's scope
        (f"w1{PAIR_SEPARATOR}w2", "'w1-w2' is not in the form this key takes"),  # a comparison's scope
        ("Wave1", "'Wave1' is not in the form this key takes"),
    ],
)
def test_a_wave_named_like_a_scope_is_refused_by_the_sheet(tmp_path, wave, problem):
    config = project(tmp_path)
    sheet = tmp_path / "waves.tsv"
    sheet.write_text(sheet.read_text().replace("\nw1\t", f"\n{wave}\t"))
    with pytest.raises(ConfigError) as info:
        check_waves(config, tmp_path)
    assert (info.value.file, info.value.row, info.value.problem) == (str(sheet), 2, f"at 'wave': {problem}")
    assert info.value.expected.startswith("a wave id: lower-case letters, digits and underscores")
    assert "'+' joins waves into a pool" in info.value.expected and "nor current" in info.value.expected


def test_a_wave_given_another_waves_codebook_is_told_so_not_flooded_with_missing_columns(root, tmp_path, capsys):
    from survey_audit.cli import main
    from survey_audit.config.settings import load_config

    sheet = tmp_path / "waves.tsv"
    bundled = (root / "config" / "waves.tsv").read_text(encoding="utf-8")
    sheet.write_text(bundled.replace("config/codebooks/wave1.yaml", "config/codebooks/wave2.yaml"), encoding="utf-8")
    config = {**load_config(root / "config" / "config.yaml"), "waves": str(sheet)}
    result = check_wave(config, "wave1", root)
    # wave 2's codebook names 55 columns, 38 of them not in wave 1's export of 72 columns (55 it does not name)
    described = (
        "the codebook does not describe this file: 38 of the 55 columns it names are not in the file ('pid', 'org',"
        " 'consent', 'gender', 'orientation', ...), and 55 of the file's 72 columns are not in the codebook"
    )
    assert [(p.file, p.problem) for p in result.problems] == [
        (
            str(root / "config" / "codebooks" / "wave2.yaml"),
            "the codebook is for wave 'wave2' but config/waves.tsv uses it for wave 'wave1'",
        ),
        (str(root / "resources" / "synthetic" / "wave1.csv"), described + "; it is the codebook of wave 'wave2'"),
    ]
    assert "check the 'codebook' and 'raw' cells of wave 'wave1'" in result.problems[1].hint
    # survey-audit ingest says the same of the pair
    raw, codebook = root / "resources" / "synthetic" / "wave1.csv", root / "config" / "codebooks" / "wave2.yaml"
    options = ["--variables", str(root / "config" / "variables.yaml"), "--config", str(root / "config" / "config.yaml")]
    assert main(["ingest", str(raw), "--codebook", str(codebook), *options, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.splitlines()[0] == f"Input problem in {raw}, row 1: {described}"


def test_a_wave_that_passed_is_not_read_again_until_an_input_changes(tmp_path):
    config = project(tmp_path)
    cache = tmp_path / "cache"
    assert [c.wave for c in check_waves(config, tmp_path, cache)] == ["w1"]
    assert check_waves(config, tmp_path, cache) == []  # unchanged: not read
    (tmp_path / "raw.csv").write_text((tmp_path / "raw.csv").read_text() + GOOD[0].replace("P1", "P9") + "\n")
    assert [c.wave for c in check_waves(config, tmp_path, cache)] == ["w1"]


def test_the_command_lists_every_problem_and_exits_1(tmp_path, root):
    codebook = CODEBOOK.replace("age_entered: {column: age_entered}", "age_entered: {column: age_first}")
    project(tmp_path, codebook=codebook)
    (tmp_path / "Snakefile").write_text("")  # a project directory: check-wave runs from its root
    (tmp_path / "workflow" / "profiles" / "default").mkdir(parents=True)
    (tmp_path / "config").mkdir()
    write(
        tmp_path / "config" / "config.yaml",
        "waves: waves.tsv\nvariables: variables.yaml\ntables: [t.yaml]\npublished: []\n",
    )
    done = subprocess.run(
        [sys.executable, "-m", "survey_audit.cli", "check-wave", "w1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root / "workflow")},
    )
    assert done.returncode == 1, done.stderr
    assert "w1: 2 problem(s)" in done.stdout and "Traceback" not in done.stderr
