"""Property-based tests of the value mapping (harmonise.harmonise) with a small codebook.

For any raw value: a code of the codebook, however its case and surrounding or inner whitespace are disturbed,
maps to its category (and is reported as stray text exactly when it is not the code as written); any value the
codebook does not know stops ingest naming its row and column; integers round-trip; multi-select columns (one
column per option, or one delimited column) give the right booleans; a blank answer is missing as no_answer.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import write
from survey_audit.config.codebook import load_codebook
from survey_audit.config.variables import load_variables, normalise_text
from survey_audit.errors import InputError
from survey_audit.intake.harmonise import harmonise
from survey_audit.intake.readers import RawTable

VARIABLES = """
missing_codes:
  dont_know: Don't know
  refused: Refused
variables:
  colour:
    label: Favourite colour
    type: single
    categories: {red: Red, green: Green, blue: Blue}
    waves: [m]
  agreed:
    label: Agreed
    type: yesno
    waves: [m]
  count:
    label: How many
    type: integer
    waves: [m]
  channels:
    label: Channels used
    type: multi
    options: {web: Web, phone: Phone, mail: Mail}
    waves: [m]
  sources:
    label: Sources
    type: multi
    options: {friend: A friend, ad: An advert, other: Other}
    waves: [m]
"""

CODEBOOK = """
wave: m
file: {layout: plain}
respondent_id: id
organisation:
  column: org
  codes:
    "A": {region: west}
missing: {"-99": refused, "Don't know": dont_know}
variables:
  colour: {column: colour, codes: {"1": red, "2": green, "Light Blue": blue}}
  agreed: {column: agreed, codes: {"Y": "yes", "N": "no"}}
  count: {column: count}
  channels:
    columns: {ch_web: web, ch_phone: phone, ch_mail: mail}
    selected: ["1", "Checked"]
  sources: {column: sources, delimiter: ";", codes: {"f": friend, "a": ad, "o": other}}
drop: {}
"""

# Raw code as written → category or missing code, per column (the wave's missing codes apply everywhere).
MISSING = {"-99": "refused", "Don't know": "dont_know"}
CODES = {
    "colour": {"1": "red", "2": "green", "Light Blue": "blue", **MISSING},
    "agreed": {"Y": "yes", "N": "no", **MISSING},
}
CATEGORIES = {"colour": ["red", "green", "blue"], "agreed": ["yes", "no"]}
CHANNELS = {"ch_web": "web", "ch_phone": "phone", "ch_mail": "mail"}
SELECTED = ["1", "Checked"]
SOURCES = {"f": "friend", "a": "ad", "o": "other"}
DEFAULT = {
    "org": "A",
    "colour": "1",
    "agreed": "Y",
    "count": "3",
    "ch_web": "1",
    "ch_phone": "",
    "ch_mail": "",
    "sources": "f",
}
WHITESPACE = [" ", "  ", "\t", "\u00a0", "\u2003"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mapping")
    variables = load_variables(write(folder / "variables.yaml", VARIABLES))
    codebook = load_codebook(write(folder / "codebook.yaml", CODEBOOK), variables)
    return variables, codebook


def raw_table(cells: list[dict[str, str]], rows: list[int] | None = None, labels=None) -> RawTable:
    """A raw table of the given responses (unset columns take their DEFAULT value)."""
    records = [{"id": f"R{i + 1}", **DEFAULT, **cell} for i, cell in enumerate(cells)]
    frame = pd.DataFrame(records, columns=["id", *DEFAULT], dtype=object)
    source_rows = np.array(rows if rows is not None else range(2, len(cells) + 2), dtype=np.int64)
    return RawTable(Path("raw.csv"), frame, source_rows, value_labels=labels or {})


def values(series) -> list:
    return [None if pd.isna(v) else v for v in pd.Series(series).astype(object)]


def stray_cells(result) -> set[tuple[int, str]]:
    findings = result.findings
    return set(zip(findings["source_row"], findings["column"]))


@st.composite
def disturbed(draw, code: str) -> str:
    """The code with random case changes, surrounding whitespace and widened inner whitespace."""
    letters = [c.swapcase() if c.isalpha() and draw(st.booleans()) else c for c in code]
    inner = "".join(draw(st.sampled_from(WHITESPACE)) if c == " " else c for c in letters)
    before = draw(st.sampled_from(["", *WHITESPACE]))
    after = draw(st.sampled_from(["", *WHITESPACE]))
    return before + inner + after


@st.composite
def coded_answers(draw):
    """(column, code as written, the raw value) for a few responses."""
    column = draw(st.sampled_from(sorted(CODES)))
    answers = []
    for _ in range(draw(st.integers(1, 5))):
        code = draw(st.sampled_from(sorted(CODES[column])))
        raw = draw(st.one_of(st.just(code), disturbed(code)))
        answers.append((code, raw))
    return column, answers


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(case=coded_answers())
def test_codes_map_to_their_category_whatever_their_case_and_whitespace(setup, case):
    variables, codebook = setup
    column, answers = case
    result = harmonise(raw_table([{column: raw} for _, raw in answers]), codebook, variables)
    frame = result.respondents
    targets = [CODES[column][code] for code, _ in answers]
    name = column  # the raw columns are named after their variables here
    assert values(frame[name]) == [t if t in CATEGORIES[column] else None for t in targets]
    assert values(frame[f"{name}__missing"]) == [None if t in CATEGORIES[column] else t for t in targets]
    # a finding exactly for the values that are not the code as written
    expected = {(row, column) for row, (code, raw) in enumerate(answers, start=2) if raw != code}
    assert stray_cells(result) == expected
    assert set(result.findings["finding"]) <= {"stray_case_or_whitespace"}
    assert set(result.findings["variable"]) <= {name}


KNOWN = {column: {normalise_text(code) for code in codes} for column, codes in CODES.items()}


def assert_found(error: InputError, value: str) -> None:
    """A value of at most 12 characters is shown as found, unless it holds an address or a phone number (an
    '@', a run of 7 digits): then it is described by its kind and length (and its lines, when it has several),
    never shown."""
    if "@" in value or re.search(r"\d{7}", value):
        lines = len(re.findall(r"\r\n|\r|\n", value)) + 1
        on_lines = f" on {lines} lines" if lines > 1 else ""
        kinds = "(a text|a number|an e-mail address)"
        assert re.fullmatch(rf"{kinds} of {len(value)} characters?{on_lines}", str(error.value))
    else:
        assert error.value == value


@SETTINGS
@given(
    column=st.sampled_from(sorted(CODES)),
    value=st.text(min_size=1, max_size=12),
    position=st.integers(0, 4),
    gaps=st.lists(st.integers(1, 4), min_size=5, max_size=5),
)
def test_a_value_the_codebook_does_not_know_names_its_row_and_column(setup, column, value, position, gaps):
    variables, codebook = setup
    assume(value.strip() and normalise_text(value) not in KNOWN[column])
    rows = list(np.cumsum(gaps) + 1)  # any increasing row numbers, e.g. with multi-line records between
    cells = [{} for _ in range(5)]
    cells[position] = {column: value}
    with pytest.raises(InputError) as info:
        harmonise(raw_table(cells, rows), codebook, variables)
    error = info.value
    assert (error.row, error.column) == (rows[position], column)
    assert error.problem.startswith(f"the value is not a code of '{column}'")
    assert_found(error, value)


@SETTINGS
@given(
    number=st.integers(-(2**53), 2**53).filter(lambda n: n != -99),
    plus=st.booleans(),
    zeros=st.integers(0, 2),
    decimals=st.sampled_from(["", ".0", ".00"]),
    before=st.sampled_from(["", *WHITESPACE]),
    after=st.sampled_from(["", *WHITESPACE]),
)
def test_integers_round_trip(setup, number, plus, zeros, decimals, before, after):
    variables, codebook = setup
    sign = "-" if number < 0 else ("+" if plus else "")
    text = sign + "0" * zeros + str(abs(number)) + decimals
    raw = before + text + after
    result = harmonise(raw_table([{"count": raw}]), codebook, variables)
    assert values(result.respondents["count"]) == [number]
    assert values(result.respondents["count__missing"]) == [None]
    assert stray_cells(result) == ({(2, "count")} if raw != text else set())


@SETTINGS
@given(value=st.text(min_size=1, max_size=10).filter(lambda s: any(c.isalpha() for c in s)))
def test_text_in_an_integer_column_names_its_row_and_column(setup, value):
    variables, codebook = setup
    assume(normalise_text(value) not in {normalise_text(code) for code in MISSING})
    with pytest.raises(InputError) as info:
        harmonise(raw_table([{}, {"count": value}], [2, 5]), codebook, variables)
    assert (info.value.row, info.value.column) == (5, "count")
    assert info.value.problem == "'count' (How many) must be a whole number"
    assert_found(info.value, value)


def test_missing_codes_in_an_integer_column(setup):
    variables, codebook = setup
    result = harmonise(raw_table([{"count": "-99"}, {"count": " don't  KNOW"}]), codebook, variables)
    assert values(result.respondents["count"]) == [None, None]
    assert values(result.respondents["count__missing"]) == ["refused", "dont_know"]
    assert stray_cells(result) == {(3, "count")}


def test_integers_beyond_float_precision_round_trip(setup):
    variables, codebook = setup
    result = harmonise(raw_table([{"count": "9007199254740993"}]), codebook, variables)
    assert values(result.respondents["count"]) == [2**53 + 1]


def test_a_number_too_large_to_store_is_an_input_error(setup):
    variables, codebook = setup
    with pytest.raises(InputError) as info:
        harmonise(raw_table([{"count": "99999999999999999999"}]), codebook, variables)
    assert (info.value.row, info.value.column) == (2, "count")


@st.composite
def checked_cells(draw):
    """Per response: which options are checked, and the raw cell of each option column."""
    responses = []
    for _ in range(draw(st.integers(1, 5))):
        chosen = draw(st.sets(st.sampled_from(sorted(CHANNELS))))
        cells = {}
        for column in CHANNELS:
            if column in chosen:
                mark = draw(st.sampled_from(SELECTED))
                cells[column] = draw(st.one_of(st.just(mark), disturbed(mark)))
            else:
                cells[column] = draw(st.sampled_from(["", *WHITESPACE]))
        responses.append((chosen, cells))
    return responses


@SETTINGS
@given(responses=checked_cells())
def test_one_column_per_option(setup, responses):
    variables, codebook = setup
    result = harmonise(raw_table([cells for _, cells in responses]), codebook, variables)
    frame = result.respondents
    for column, option in CHANNELS.items():
        expected = [(column in chosen) if chosen else None for chosen, _ in responses]
        assert values(frame[f"channels__{option}"]) == expected
    assert values(frame["channels__missing"]) == [None if chosen else "no_answer" for chosen, _ in responses]
    expected_stray = {
        (row, column)
        for row, (_, cells) in enumerate(responses, start=2)
        for column, raw in cells.items()
        if raw.strip() and raw not in SELECTED
    }
    assert stray_cells(result) == expected_stray


def test_a_missing_code_in_an_option_column_is_the_question_missing(setup):
    variables, codebook = setup
    cells = [{"ch_web": "", "ch_phone": "-99"}, {"ch_web": "1", "ch_phone": "-99"}]
    with pytest.raises(InputError) as info:
        harmonise(raw_table(cells), codebook, variables)
    assert info.value.problem == "the multi-select question 'channels' has both options chosen and a missing code"
    assert info.value.row == 3
    result = harmonise(raw_table(cells[:1]), codebook, variables)
    assert values(result.respondents["channels__missing"]) == ["refused"]
    assert values(result.respondents["channels__web"]) == [None]


@st.composite
def delimited_answers(draw):
    """Per response: the tokens written (codes, possibly repeated, disturbed, in any order) joined by ';'."""
    responses = []
    for _ in range(draw(st.integers(1, 5))):
        codes = draw(st.lists(st.sampled_from(sorted(SOURCES)), max_size=4))
        tokens = [draw(st.one_of(st.just(code), disturbed(code))) for code in codes]
        empties = draw(st.sampled_from(["", ";", ";;"]))  # stray delimiters leave empty tokens
        responses.append((codes, tokens, ";".join(tokens) + (empties if tokens else "")))
    return responses


@SETTINGS
@given(responses=delimited_answers())
def test_one_delimited_column(setup, responses):
    variables, codebook = setup
    result = harmonise(raw_table([{"sources": raw} for _, _, raw in responses]), codebook, variables)
    frame = result.respondents
    for code, option in SOURCES.items():
        expected = [(code in codes) if codes else None for codes, _, _ in responses]
        assert values(frame[f"sources__{option}"]) == expected
    assert values(frame["sources__missing"]) == [None if codes else "no_answer" for codes, _, _ in responses]
    expected_stray = {
        (row, "sources")
        for row, (codes, tokens, _) in enumerate(responses, start=2)
        if any(token != code for token, code in zip(tokens, codes))
    }
    assert stray_cells(result) == expected_stray


BLANKS = st.text(alphabet=[" ", "\t", "\u00a0", "\u2003", "\n"], max_size=4)


@SETTINGS
@given(blank=BLANKS, column=st.sampled_from(["colour", "agreed", "count", "sources", "channels"]))
def test_blank_is_missing_as_no_answer(setup, blank, column):
    variables, codebook = setup
    cell = {c: blank for c in CHANNELS} if column == "channels" else {column: blank}
    result = harmonise(raw_table([cell]), codebook, variables)
    frame = result.respondents
    value_columns = [f"{column}__{o}" for o in ("web", "phone", "mail")] if column == "channels" else []
    value_columns = value_columns or ([f"sources__{o}" for o in SOURCES.values()] if column == "sources" else [column])
    for name in value_columns:
        assert values(frame[name]) == [None]
    assert values(frame[f"{column}__missing"]) == ["no_answer"]
    assert stray_cells(result) == set()


def test_a_code_may_be_named_by_its_value_label(setup):
    # SPSS and Stata files carry value labels: the codebook's "Light Blue" matches the label of code 7
    variables, codebook = setup
    table = raw_table([{"colour": "7"}, {"colour": "7 "}], labels={"colour": {"7": "light blue"}})
    result = harmonise(table, codebook, variables)
    assert values(result.respondents["colour"]) == ["blue", "blue"]
    assert stray_cells(result) == {(3, "colour")}
