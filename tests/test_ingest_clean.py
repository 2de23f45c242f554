"""Ingest and cleaning on small hand-written waves: every number here can be checked by reading the rows."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import CLEANING_DEFAULTS
from survey_audit.config.codebook import load_codebook
from survey_audit.config.variables import load_variables
from survey_audit.errors import InputError, Problems
from survey_audit.intake.cleaning import clean, derive
from survey_audit.intake.harmonise import harmonise
from survey_audit.intake.readers import read_raw

GOOD = [
    # pid, org, status, consent, recorded, gender, age, age_entered, year_entered, phone, monitored, online, street, sites, comments, ip
    'P1,A,0,1,2016-05-01,1,25,14,2005,1,1,1,,"1,2",hello there,10.0.0.1',
    "P2,B,0,1,2016-05-02,2,30,11,1997,2,,,1,,,10.0.0.2",
    "P3,A,0,1,2016-05-03, Female ,22,15,2009,1,2,1,1,3,,10.0.0.3",
    "P4,B,0,1,2016-05-04,99,40,16,1992,98,,,,,,10.0.0.4",
]


def values(series: pd.Series) -> list:
    """A column's values with every kind of missing shown as None."""
    return [None if pd.isna(v) else v for v in series.astype(object)]


def load(small_wave, rows, **kwargs):
    var_path, book_path, raw_path = small_wave(rows, **kwargs)
    variables = load_variables(var_path)
    book = load_codebook(book_path, variables, cleaning_defaults=CLEANING_DEFAULTS)
    return variables, book, read_raw(raw_path, layout=book.layout)


def test_harmonise_maps_codes_keeps_missing_reasons_and_drops_identifiers(small_wave):
    variables, book, raw = load(small_wave, GOOD)
    result = harmonise(raw, book, variables)
    frame = result.respondents
    assert list(frame["respondent_id"]) == ["w1-0001", "w1-0002", "w1-0003", "w1-0004"]
    assert list(frame["source_row"]) == [2, 3, 4, 5]
    assert values(frame["gender"]) == ["female", "male", "female", None]
    assert frame["gender__missing"].iloc[3] == "refused"
    assert frame["had_phone__missing"].iloc[3] == "dont_know"
    assert values(frame["advertised__online"]) == [True, False, True, None]
    assert values(frame["advertised__street"]) == [False, True, True, None]
    assert frame["advertised__missing"].iloc[3] == "no_answer"
    assert values(frame["sites__backpage"].iloc[:3]) == [True, None, False]
    assert bool(frame["sites__craigslist"].iloc[0]) and bool(frame["sites__other"].iloc[2])
    assert list(frame["survey_year"]) == [2016] * 4
    # identifiers and free text never pass ingest
    assert "ip" not in frame and "comments" not in frame and "pid" not in frame
    text = frame.astype(str).to_csv()
    assert "10.0.0" not in text and "hello there" not in text and "P1" not in text
    # " Female " matched its code only once whitespace and case were ignored: noted, not silent
    assert result.findings[["source_row", "variable", "finding"]].values.tolist() == [
        [4, "gender", "stray_case_or_whitespace"]
    ]


def test_unknown_code_names_file_row_column_value_and_expected(small_wave):
    rows = GOOD[:1] + ["P2,B,0,1,2016-05-02,7,30,11,1997,2,,,1,,,10.0.0.2"]
    variables, book, raw = load(small_wave, rows)
    with pytest.raises(InputError) as info:
        harmonise(raw, book, variables)
    error = info.value
    assert (error.row, error.column, error.value) == (3, "gender", "7")
    assert "'1'" in error.expected and "'99'" in error.expected
    assert str(raw.path) in error.message


def test_wrong_type_in_integer_column(small_wave):
    rows = ["P1,A,0,1,2016-05-01,1,twenty,14,2005,1,1,1,,1,,x"]
    variables, book, raw = load(small_wave, rows)
    with pytest.raises(InputError) as info:
        harmonise(raw, book, variables)
    assert (info.value.row, info.value.column, info.value.value) == (2, "age", "twenty")
    assert "whole number" in info.value.message


def test_missing_and_unexpected_columns_are_errors(small_wave):
    header = "pid,org,status,consent,recorded,gender,age,age_entered,year_entered,phone,monitored,adv_online,adv_street,sites,comments,ip,extra"
    variables, book, raw = load(small_wave, [GOOD[0] + ",x"], header=header)
    with pytest.raises(InputError, match="does not mention: 'extra'"):
        harmonise(raw, book, variables)
    header = "pid,org,status,consent,recorded,gender,age,age_entered,year_entered,phone,monitored,adv_online,adv_street,sites,comments"
    variables, book, raw = load(small_wave, [GOOD[0].rsplit(",", 1)[0]], header=header)
    with pytest.raises(InputError, match="lacks 1 column.*ip"):
        harmonise(raw, book, variables)


def run_clean(small_wave, rows):
    variables, book, raw = load(small_wave, rows)
    result = harmonise(raw, book, variables)
    return clean(result.respondents, result.findings, book, variables)


DEFECTS = [
    ("P5,A,1,1,2016-05-01,1,25,14,2005,1,1,1,,1,,x", "test_responses"),
    ("P6,A,0,2,2016-05-01,1,25,14,2005,1,1,1,,1,,x", "consent"),
    ("P1,A,0,1,2016-05-01,1,25,14,,,,,,,,x", "duplicate_id"),  # less complete copy of P1
    ("P7,B,0,1,2016-05-02,2,30,11,1997,2,,,1,,,y", "duplicate_answers"),  # same answers as P2
    ("P8,A,0,1,2016-05-01,1,,,,,,,,,,x", "incomplete"),
    ("P9,A,0,1,2016-05-01,1,25,19,2008,1,1,1,,1,,x", "trafficked_as_minor"),
    ("P10,A,0,1,2016-05-01,1,15,16,2014,1,1,1,,1,,x", "entered_after_survey_age"),
]


def test_cleaning_finds_exactly_the_defects(small_wave):
    rows = GOOD + [row for row, _ in DEFECTS]
    result = run_clean(small_wave, rows)
    assert len(result.analysed) == len(GOOD)
    assert list(result.quarantine["rule"]) == [rule for _, rule in DEFECTS]
    assert list(result.quarantine["source_row"]) == list(range(len(GOOD) + 2, len(GOOD) + 2 + len(DEFECTS)))
    assert len(result.analysed) + len(result.quarantine) == len(rows)
    flow = result.flow.set_index("rule")
    assert flow.loc["raw responses", "remaining"] == len(rows)
    assert flow["remaining"].iloc[-1] == len(GOOD)
    assert flow["excluded"].sum() == len(DEFECTS)
    # the quarantine never carries answers
    assert list(result.quarantine.columns) == ["respondent_id", "source_row", "rule", "reason"]
    log = result.log.set_index("rule")
    assert log.loc["normalise_text", "rows_affected"] == 1
    assert log.loc["duplicate_id", "rows_affected"] == 1


def test_out_of_range_and_skip_violations_are_set_missing_with_reason(small_wave):
    rows = [
        "P1,A,0,1,2016-05-01,1,95,14,2005,2,1,1,,1,,x",  # age 95 out of range; monitored answered without a phone
        "P2,B,0,1,2016-05-02,2,30,11,1997,2,,,1,,,y",  # no phone, monitored blank: not asked
        "P3,A,0,1,2016-05-03,1,22,15,2009,1,2,,1,2,,z",  # sites answered though not advertised online
    ]
    result = run_clean(small_wave, rows)
    frame = result.analysed
    assert pd.isna(frame["age_at_survey"].iloc[0]) and frame["age_at_survey__missing"].iloc[0] == "out_of_range"
    assert pd.isna(frame["phone_monitored"].iloc[0])
    assert frame["phone_monitored__missing"].iloc[0] == "answered_when_not_asked"
    assert frame["phone_monitored__missing"].iloc[1] == "not_asked"
    assert frame["sites__missing"].iloc[2] == "answered_when_not_asked"
    assert frame["sites__craigslist"].isna().iloc[2]
    actions = result.actions
    assert set(zip(actions["source_row"], actions["rule"], actions["variable"])) >= {
        (2, "out_of_range", "age_at_survey"),
        (2, "skip_logic", "phone_monitored"),
        (4, "skip_logic", "sites"),
    }
    log = result.log.set_index("rule")
    assert log.loc["skip_logic", "rows_affected"] == 2
    assert log.loc["not_asked", "rows_affected"] >= 1


def test_derived_variables_follow_cleaned_values(small_wave):
    result = run_clean(small_wave, GOOD)
    frame = result.analysed
    assert values(frame["entry_cohort"]) == ["from_2004", "before_2004", "from_2004", "before_2004"]
    assert values(frame["under_12"]) == ["no", "yes", "no", "no"]


def test_derive_bins_at_the_break_and_keeps_missing_reason(small_wave):
    variables, book, raw = load(small_wave, GOOD)
    frame = harmonise(raw, book, variables).respondents
    frame["year_entered"] = pd.array([2003, 2004, None, 2020], dtype="Int64")
    frame["year_entered__missing"] = pd.Categorical(
        [None, None, "refused", None], categories=frame["year_entered__missing"].cat.categories
    )
    out = derive(frame, variables, book.carried)
    assert values(out["entry_cohort"]) == ["before_2004", "from_2004", None, "from_2004"]
    assert out["entry_cohort__missing"].iloc[2] == "refused"


DERIVED = """
  years_since_entered:
    label: Years since entering
    type: integer
    derive: {difference: [survey_year, year_entered]}
    waves: [w1]
  female_with_phone:
    label: Female with a phone
    type: yesno
    derive: {all_of: {gender: [female], had_phone: ["yes"]}}
    waves: [w1]
  online:
    label: Advertised online
    type: yesno
    derive: {any_of: {variable: advertised, options: [online]}}
    waves: [w1]
"""


def test_derived_values_take_the_first_source_reason_or_no_answer(small_wave):
    from conftest import VARIABLES

    variables, book, raw = load(small_wave, GOOD, variables=VARIABLES + DERIVED)
    frame = harmonise(raw, book, variables).respondents

    def categorical(column, values):
        return pd.Categorical(values, categories=frame[column].cat.categories)

    frame["gender"] = categorical("gender", ["female", "female", None, "male"])
    frame["gender__missing"] = categorical("gender__missing", [None, None, "refused", None])
    frame["had_phone"] = categorical("had_phone", ["yes", None, None, "yes"])
    frame["had_phone__missing"] = categorical("had_phone__missing", [None, "dont_know", "dont_know", None])
    frame["year_entered"] = pd.array([2005, None, None, 1992], dtype="Int64")
    frame["year_entered__missing"] = categorical("year_entered__missing", [None, "refused", None, None])
    out = derive(frame, variables, book.carried)
    # all_of: both sources known and matching; where one is missing, the first source's reason
    assert values(out["female_with_phone"]) == ["yes", None, None, "no"]
    assert values(out["female_with_phone__missing"]) == [None, "dont_know", "refused", None]
    # difference: survey year (2016 in every row) minus year entered; a blank with no reason is no answer
    assert values(out["years_since_entered"]) == [11, None, None, 24]
    assert values(out["years_since_entered__missing"]) == [None, "refused", "no_answer", None]
    # any_of: the online option chosen; the fourth response left the question blank
    assert values(out["online"]) == ["yes", "no", "yes", None]
    assert values(out["online__missing"]) == [None, None, None, "no_answer"]
    assert list(out["online__missing"].cat.categories) == list(variables.missing_reasons)
    # the caller's frame is left as it was
    assert "online" not in frame


def test_a_rule_that_changes_a_large_share_of_answers_stops_the_run_naming_it(small_wave):
    # Ages of 90 and above are outside the valid 12–80: six of eight answers set to missing is no data error
    # but a wrong range (or codebook), and must not pass as a line in the log.
    rows = [f"P{i},A,0,1,2016-05-0{i},1,{90 + i if i <= 6 else 30 + i},14,2005,2,,,,,," for i in range(1, 9)]
    variables, book, raw = load(small_wave, rows)
    harmonised = harmonise(raw, book, variables)
    with pytest.raises(Problems) as info:
        clean(harmonised.respondents, harmonised.findings, book, variables)
    (problem,) = info.value.problems
    assert problem.problem == "the cleaning rule 'out_of_range' sets to missing 6 of 8 answers to 'age_at_survey' (75%)"
    assert "max_share" in problem.expected and problem.file == str(book.path)
    # Below the floor of min_rows, or within the share, a rule only logs.
    few = [*rows[:2], *[row.replace(",9", ",3") for row in rows[2:6]], *rows[6:]]
    variables, book, raw = load(small_wave, few)
    harmonised = harmonise(raw, book, variables)
    cleaned = clean(harmonised.respondents, harmonised.findings, book, variables)
    assert (cleaned.actions["rule"] == "out_of_range").sum() == 2


def test_duplicate_keys_group_equal_answers_and_every_kind_of_missing():
    # Rows 0 and 2 are equal (None and NaN are both missing); row 1 differs in one answer, row 3 in the organisation.
    from types import SimpleNamespace

    from survey_audit.intake.cleaning import _answer_keys

    frame = pd.DataFrame(
        {
            "org": ["A", "A", "A", "B"],
            "q": pd.array([1, 2, 1, 1], dtype="Int64"),
            "q_missing": pd.Series([None, None, float("nan"), None], dtype=object),
        }
    )
    keys = _answer_keys(frame, [SimpleNamespace(value_columns=("q",), missing_column="q_missing")])
    assert keys[0] == keys[2] and len({keys[0], keys[1], keys[3]}) == 3


def test_duplicate_keys_stay_exact_when_the_combined_codes_are_renumbered(monkeypatch):
    # With a limit of 2**8 the digits of 6 columns of 4 to 7 values cannot all be combined at once: the keys are
    # renumbered on the way. Oracle: the rows of the columns grouped as tuples by Python's own equality.
    from types import SimpleNamespace

    import numpy as np

    from survey_audit.intake import cleaning

    monkeypatch.setattr(cleaning, "_KEY_LIMIT", 2**8)
    rng = np.random.default_rng(7)
    n = 400
    frame = pd.DataFrame({"org": rng.choice(["A", "B"], n)})
    questions = []
    for i, size in enumerate([4, 5, 6, 7, 5]):
        frame[f"q{i}"] = pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, size - 1, n)), dtype="Int64")
        frame[f"q{i}_missing"] = pd.Series(np.where(frame[f"q{i}"].isna(), "refused", None), dtype=object)
        questions.append(SimpleNamespace(value_columns=(f"q{i}",), missing_column=f"q{i}_missing"))
    keys = cleaning._answer_keys(frame, questions)
    rows = [tuple(None if pd.isna(v) else v for v in row) for row in frame.astype(object).itertuples(index=False)]
    first = {}
    expected = [first.setdefault(row, len(first)) for row in rows]
    assert len(set(keys)) == len(first) < n
    assert all((keys[i] == keys[j]) == (expected[i] == expected[j]) for i in range(n) for j in range(0, n, 37))


def test_duplicates_keep_the_most_complete_active_row_and_the_first_on_ties():
    import numpy as np

    from survey_audit.intake.cleaning import _duplicates

    keys = np.array([5, 5, 5, 9, 9, 9, 2])
    answered = np.array([3, 4, 4, 1, 2, 2, 0])
    active = np.array([True, True, True, True, False, True, True])
    # key 5: rows 1 and 2 tie on 4 answers, the earlier (1) is kept; key 9: row 4 is no longer active, so row 5 is
    # kept over row 3; key 2 has one row.
    assert list(np.flatnonzero(_duplicates(keys, answered, active))) == [0, 2, 3]
