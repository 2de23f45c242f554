"""The bad-input corpus (tests/data/bad/): every broken export or codebook stops `survey-audit ingest` with one
specific message naming the file, row and column, showing the value found (or, in an identifying or free-text
column, describing it without its content), exit status 2, no traceback, and nothing written.

Each raw file is a copy of good.csv with one thing broken; each codebook or variables file a copy of
codebook.yaml or variables.yaml with one mistake. Most cases call the command in-process (fast); a few run it as
a subprocess to prove the contract of the real command line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from survey_audit.cli import main
from survey_audit.errors import Problems

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "bad"
HEADER_START = "pid,org,status,consent,gender,age,age_en"  # the first 40 characters of good.csv's header


def line_of(name: str, needle: str) -> int:
    """The line of a corpus file on which ``needle`` first appears."""
    text = (DATA / name).read_text(encoding="utf-8")
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


@dataclass(frozen=True)
class Case:
    raw: str
    problem: str
    row: int | None = None
    column: str | None = None
    found: str | None = None
    codebook: str = "codebook.yaml"
    variables: str = "variables.yaml"
    kind: str = "Input problem"
    about: str | None = None  # the file the message names, when not the raw file
    name: str | None = None  # the case's id, when not the stem of the file the message names

    @property
    def id(self) -> str:
        return self.name or Path(self.raw if self.about is None else self.about).stem


CASES = [
    # --- the raw file against its codebook ---------------------------------------------------------------------
    Case(
        "missing_column.csv",
        "the file lacks 1 column(s) the codebook expects: 'ip'",
        row=1,
        column="ip",
    ),
    Case(
        "unexpected_column.csv",
        "the file has 1 column(s) the codebook does not mention: 'email'",
        row=1,
        column="email",
    ),
    Case("unknown_code.csv", "the value is not a code of 'gender' (Gender)", row=4, column="gender", found="'7'"),
    Case(
        "wrong_type.csv",
        "'age_at_survey' (Age at survey) must be a whole number",
        row=3,
        column="age",
        found="'twenty'",
    ),
    Case(
        "unknown_organisation.csv",
        "the organisation code is not in the codebook",
        row=6,
        column="org",
        found="'Z'",
    ),
    # --- values that are never shown: an identifying or free-text column, or a value that is no short code ---------
    Case(
        "identifying_value.csv",
        "the file is neither UTF-8 nor Windows-1252 (cp1252) text: byte 0x81 is a character in neither",
        row=3,
        column="pid",
        found="byte 0x81 in an e-mail address of 21 characters, at character 9",
    ),
    Case(
        "free_text_value.csv",
        "the file is neither UTF-8 nor Windows-1252 (cp1252) text: byte 0x81 is a character in neither",
        row=3,
        column="comments",
        found="byte 0x81 in a text of 36 characters, at character 19",
    ),
    Case(
        "email_in_age.csv",
        "'age_at_survey' (Age at survey) must be a whole number",
        row=3,
        column="age",
        found="an e-mail address of 20 characters",
    ),
    # --- the file itself -----------------------------------------------------------------------------------------
    Case("empty.csv", "the file is empty"),
    Case("workbook_saved_as.csv", "the file is an Excel workbook (or another zip archive) saved with a .csv extension"),
    Case("header_only.csv", "the file has a header but no responses"),
    Case("nonexistent.csv", "the raw data file does not exist"),
    Case(
        "wrong_encoding.csv",
        "the file is neither UTF-8 nor Windows-1252 (cp1252) text: byte 0x81 is a character in neither",
        row=2,
        column="comments",
        found="byte 0x81 in a text of 4 characters, at character 4",  # free text: described, never shown
    ),
    Case(
        # the byte is on line 5, inside a value whose record starts on line 4
        "wrong_encoding_multiline.csv",
        "the file is neither UTF-8 nor Windows-1252 (cp1252) text: byte 0x8D is a character in neither",
        row=4,
        column="comments",
        found="byte 0x8D in a text of 10 characters on 2 lines, at character 7",
    ),
    Case(
        "mixed_encoding.csv",
        "the file mixes encodings: it holds UTF-8 text (from line 2) but byte 0xE9 here is not valid UTF-8",
        row=3,
        column="comments",
        found="byte 0xE9 in a text of 4 characters, at character 4",
    ),
    Case(
        "utf16_without_bom.csv",
        "the file contains a NUL character (byte 0x00), which text files never hold",
        row=1,
        found=r"byte 0x00 in the value 'p\x00i\x00d\x00'",
    ),
    Case(
        "latin1_control_bytes.csv",
        "byte 0x93 is an invisible control character in Latin-1 (ISO-8859-1); the file is most likely Windows-1252"
        " (cp1252), where it is '“'",
        row=2,
        column="comments",
        found="byte 0x93 in a text of 4 characters, at character 1",
        codebook="codebook_latin1.yaml",
    ),
    Case(
        "truncated_row.csv",
        "the row has 4 values but the header has 13 columns; the file ends on this row without a line break, so it"
        " was probably cut off",
        row=6,
        column="gender",
    ),
    Case(
        "truncated_quote.csv",
        "the file ends inside a quoted value: the quote opened on this row is never closed",
        row=4,
        column="comments",
        found="a text of 6 characters on 2 lines",
    ),
    Case(
        "extra_field.csv",
        "the row has 14 values but the header has 13 columns",
        row=3,
        found="a text of 8 characters",  # under no column: never shown
    ),
    Case(
        "quote_followed_by_text.csv",
        "a quoted value is followed by other text before the next delimiter",
        row=2,
        column="comments",
        found="a text of 5 characters",
    ),
    Case(
        "duplicate_column.csv",
        "the column name 'gender' appears twice in the header (columns 5 and 11)",
        row=1,
        column="gender",
    ),
    Case("blank_column_name.csv", "column 6 of the header has no name", row=1),
    Case("repeated_header.csv", "the row repeats the header row (were two exports joined?)", row=4),
    Case(
        "good.csv",
        "split on the declared delimiter ';' (semicolon) the header is a single column, but split on ',' (comma) it"
        " has 13 columns",
        row=1,
        found=f"'{HEADER_START}…'",
        codebook="codebook_semicolon.yaml",
    ),
    Case(
        "platform_no_import_row.csv",
        "the file is declared as a survey-platform export (layout: platform), but its third row is not the import-id"
        " row",
        row=3,
        found="a text of 2 characters",  # the respondent id
        codebook="codebook_platform.yaml",
    ),
    Case(
        "import_row_without_question_row.csv",
        "the second row is a survey-platform import-id row, but the question-text row that belongs above it is missing",
        row=2,
        found="""'{"ImportId":"QID1"}'""",
    ),
    Case(
        "beyond_last_column.xlsx",
        "the row has a value in column O, beyond the last named column",
        row=3,
        found="a text of 4 characters",
    ),
    # --- the responses against the cleaning rules ------------------------------------------------------------------
    Case(
        # every response is excluded (a test response, two without consent, one not eligible): the clean stage
        # stops with the exclusion flow, not the weight stage with a traceback
        "nobody_left.csv",
        "no respondent of wave 'bad' is left after cleaning: 4 raw responses, test_responses excluded 1, consent"
        " excluded 2, trafficked_as_minor excluded 1, 0 analysed",
        about="codebook.yaml",
        name="nobody_left",
    ),
    # --- the codebook and the variables ---------------------------------------------------------------------------
    Case(
        "good.csv",
        "at 'variables → advertised → type': 'multiple' is not an accepted value",
        row=line_of("variables_unknown_type.yaml", "    type: multiple"),
        variables="variables_unknown_type.yaml",
        kind="Configuration problem",
        about="variables_unknown_type.yaml",
    ),
    Case(
        "good.csv",
        f"the key 'female' appears twice in the same block (first on row {line_of('variables_category_twice.yaml', 'female: Woman')})",
        row=line_of("variables_category_twice.yaml", "female: Woman"),
        variables="variables_category_twice.yaml",
        kind="Configuration problem",
        about="variables_category_twice.yaml",
    ),
    Case(
        "good.csv",
        "the skip rule of 'phone_monitored' names 'had_car', which this codebook does not map",
        row=line_of("codebook_skip_missing_variable.yaml", "ask_if: {variable: had_car"),
        codebook="codebook_skip_missing_variable.yaml",
        kind="Configuration problem",
        about="codebook_skip_missing_variable.yaml",
    ),
    Case(
        "good.csv",
        "code '3' maps to 'woman', which is neither a category of 'gender' nor a missing code",
        row=line_of("codebook_unknown_category.yaml", '"3": woman'),
        found="'woman'",
        codebook="codebook_unknown_category.yaml",
        kind="Configuration problem",
        about="codebook_unknown_category.yaml",
    ),
    Case(
        "good.csv",
        "'shoe_size' is not a harmonised variable",
        row=line_of("codebook_unknown_variable.yaml", "shoe_size: {"),
        codebook="codebook_unknown_variable.yaml",
        kind="Configuration problem",
        about="codebook_unknown_variable.yaml",
    ),
]


def arguments(case: Case, out: Path) -> list[str]:
    return [
        "ingest",
        str(DATA / case.raw),
        "--codebook",
        str(DATA / case.codebook),
        "--variables",
        str(DATA / case.variables),
        "--config",
        str(DATA / "config.yaml"),
        "--out",
        str(out),
    ]


def expected_message_start(case: Case) -> list[str]:
    where = [str(DATA / (case.about or case.raw))]
    if case.row is not None:
        where.append(f"row {case.row}")
    if case.column is not None:
        where.append(f"column '{case.column}'")
    lines = [f"{case.kind} in {', '.join(where)}: {case.problem}"]
    if case.found is not None:
        lines.append(f"  found:    {case.found}")
    return lines


def check_failure(case: Case, status: int, stdout: str, stderr: str, scratch: Path) -> None:
    assert status == 2, stderr
    assert "Traceback" not in stderr
    assert stdout == ""
    lines = stderr.splitlines()
    expected = expected_message_start(case)
    assert lines[: len(expected)] == expected
    if case.found is None:
        assert not any(line.startswith("  found:") for line in lines)
    assert any(line.startswith("  expected: ") for line in lines)
    # nothing written: no output directory, no scratch files left beside it
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_stops_ingest_with_its_message(case, tmp_path, capsys):
    status = main(arguments(case, tmp_path / "out"))
    captured = capsys.readouterr()
    check_failure(case, status, captured.out, captured.err, tmp_path)


SUBPROCESS_CASES = ["truncated_quote", "mixed_encoding", "codebook_skip_missing_variable"]


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_the_command_line_exits_2_without_traceback(name, tmp_path):
    case = next(case for case in CASES if case.id == name)
    done = subprocess.run(
        [sys.executable, "-m", "survey_audit.cli", *arguments(case, tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONPATH": str(ROOT / "workflow")},
    )
    check_failure(case, done.returncode, done.stdout, done.stderr, tmp_path)


def ingest(raw: str, out: Path, capsys) -> str:
    status = main(arguments(Case(raw, problem=""), out))
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert captured.err == ""
    return captured.out


@pytest.mark.parametrize("raw", ["good.csv", "good_platform.csv", "good.xlsx"])
def test_the_corpus_base_ingests(raw, tmp_path, capsys):
    # each bad file differs from these in one thing only, so each fails for the reason its case names
    out = tmp_path / "out"
    assert ingest(raw, out, capsys).splitlines()[0] == "bad: 4 raw responses, 4 analysed"
    analysed = pd.read_parquet(out / "bad.parquet")
    # lines of the text files (P3's comment spans two lines); spreadsheet rows of the workbook
    expected_rows = {"good.csv": [2, 3, 4, 6], "good_platform.csv": [4, 5, 6, 8], "good.xlsx": [2, 3, 4, 5]}
    assert list(analysed["source_row"]) == expected_rows[raw]
    assert list(analysed["gender"].astype(object).where(analysed["gender"].notna(), None)) == [
        "female",
        "male",
        "other",
        None,
    ]


def test_duplicate_ids_are_quarantined_not_an_error(tmp_path, capsys):
    out = tmp_path / "out"
    printed = ingest("duplicate_ids.csv", out, capsys)
    assert printed.splitlines()[:2] == ["bad: 5 raw responses, 4 analysed", "  duplicate_id: 1 excluded"]
    quarantine = pd.read_csv(out / "bad.quarantine.csv")
    # the second, less complete response of P2 (line 7) goes; the first (line 3) stays
    assert quarantine[["respondent_id", "source_row", "rule"]].values.tolist() == [["bad-0002", 7, "duplicate_id"]]
    assert list(pd.read_parquet(out / "bad.parquet")["source_row"]) == [2, 3, 4, 6]


def test_every_corpus_file_is_used():
    used = {"config.yaml", "README.md", "good.csv", "good_platform.csv", "good.xlsx", "duplicate_ids.csv"}
    for case in CASES:
        used |= {case.raw, case.codebook, case.variables}
    assert sorted(p.name for p in DATA.iterdir()) == sorted(used - {"nonexistent.csv"})


def test_a_config_file_that_does_not_exist_stops_ingest(tmp_path, capsys):
    args = arguments(Case("good.csv", problem=""), tmp_path / "out")
    args[args.index("--config") + 1] = str(DATA / "no_such_config.yaml")
    assert main(args) == 2
    assert "the file does not exist" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_failed_ingest_creates_no_directories(tmp_path, capsys):
    case = next(case for case in CASES if case.id == "unknown_code")
    assert main(arguments(case, tmp_path / "new" / "out")) == 2
    assert list(tmp_path.iterdir()) == []


def write_sav(path: Path, labels: dict) -> Path:
    """good.csv as an SPSS export, its answers numeric, with the given value labels."""
    from survey_audit.intake.readers import read_raw

    frame = read_raw(DATA / "good.csv").frame
    text = {"pid", "org", "comments", "ip"}
    columns = {c: frame[c] if c in text else pd.to_numeric(frame[c]) for c in frame.columns}
    pyreadstat.write_sav(pd.DataFrame(columns), str(path), variable_value_labels=labels)
    return path


def test_value_labels_that_invert_the_codebook_stop_ingest_every_one_listed(tmp_path, capsys):
    # the codebook maps gender 1 → female and 2 → male; this export labels them the other way round
    raw = write_sav(tmp_path / "inverted.sav", {"gender": {1: "Male", 2: "Female", 3: "Other"}})
    args = arguments(Case("good.csv", problem=""), tmp_path / "out")
    args[1] = str(raw)
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert captured.err.splitlines()[:6] == [
        f"2 problem(s) in the value labels of {raw}:",
        f"1. Input problem in {raw}, column 'gender': code '1' of 'gender' is labelled 'Male' in the file, but the"
        " codebook maps it to 'female' (Female)",
        "     expected: codes that mean what their labels say: '1' → male",
        f"     what to do: fix the codes of 'gender' in {DATA / 'codebook.yaml'} (a wrong code would invert its tables)",
        f"2. Input problem in {raw}, column 'gender': code '2' of 'gender' is labelled 'Female' in the file, but the"
        " codebook maps it to 'male' (Male)",
        "     expected: codes that mean what their labels say: '2' → female",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inverted.sav"]  # nothing written


def test_value_labels_that_agree_with_the_codebook_ingest(tmp_path, capsys):
    raw = write_sav(tmp_path / "agreeing.sav", {"gender": {1: "Female", 2: "Male", 3: "Other", 99: "Refused"}})
    args = arguments(Case("good.csv", problem=""), tmp_path / "out")
    args[1] = str(raw)
    assert main(args) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.splitlines()[0] == "bad: 4 raw responses, 4 analysed"
    gender = pd.read_parquet(tmp_path / "out" / "bad.parquet")["gender"]
    assert list(gender.astype(object).where(gender.notna(), None)) == ["female", "male", "other", None]


PRIVATE = ["identifying_value", "free_text_value", "email_in_age"]
SECRETS = ["jane", "example", "5551234567", "name is"]  # what the values above hold, in any case


@pytest.mark.parametrize("name", PRIVATE)
def test_no_message_log_or_file_holds_an_identifying_or_free_text_value(name, tmp_path, capsys):
    from types import SimpleNamespace

    from survey_audit import adapter
    from survey_audit.config.settings import load_config
    from survey_audit.intake.check import check_waves
    from survey_audit.stages.ingest import ingest_wave

    case = next(case for case in CASES if case.id == name)
    raw, codebook = DATA / case.raw, DATA / case.codebook
    cleaning = load_config(DATA / "config.yaml")["cleaning"]
    heard = []
    # survey-audit ingest
    assert main(arguments(case, tmp_path / "out")) == 2
    heard += capsys.readouterr()
    # the workflow: the check every run starts with, then the ingest job under the adapter, logging to its log
    sheet = tmp_path / "waves.tsv"
    sheet.write_text(
        "wave\tlabel\traw\tcodebook\tfielded_from\tfielded_to\tsynthetic\n"
        f"bad\tBad\t{raw}\t{codebook}\t2016\t2016\tno\n",
        encoding="utf-8",
    )
    config = {"waves": str(sheet), "variables": str(DATA / case.variables), "cleaning": cleaning}
    with pytest.raises(Problems) as checked:
        check_waves(config, tmp_path, cache=tmp_path / "plan")
    heard.append(checked.value.message)
    log = tmp_path / "logs" / "ingest.log"
    log.parent.mkdir()
    outputs = {k: str(tmp_path / "ingest" / f"bad.{k}") for k in ("parquet", "findings.csv", "summary.json")}
    with pytest.raises(SystemExit):
        adapter.run(
            SimpleNamespace(log=[str(log)], input={}, output=[]),
            lambda: ingest_wave(
                raw=str(raw),
                codebook=str(codebook),
                variables=str(DATA / case.variables),
                wave="bad",
                cleaning_defaults=cleaning,
                respondents_out=outputs["parquet"],
                findings_out=outputs["findings.csv"],
                summary_out=outputs["summary.json"],
            ),
        )
    heard += capsys.readouterr()
    # every message names where the value is (the check lists the rows of a problem) ...
    where = f"{raw}, row {case.row}, column '{case.column}'"
    assert where in heard[1] and where in log.read_text(encoding="utf-8")
    assert where in heard[2] or f"{raw}, column '{case.column}'" in heard[2] and f"(rows {case.row})" in heard[2]
    assert f"found:    {case.found}" in heard[1]
    # ... and nothing said or written holds any of it
    written = [p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file()]
    for text in [*heard, *written]:
        assert not any(secret in text.casefold() for secret in SECRETS), text
