"""Codebook and variables validation: each mistake an analyst can make gives a message naming file and row."""

from __future__ import annotations

import pytest
import yaml

from conftest import CODEBOOK, VARIABLES, write
from survey_audit.config.codebook import load_codebook
from survey_audit.config.loading import load_yaml
from survey_audit.config.variables import load_variables
from survey_audit.errors import ConfigError


def codebook_error(tmp_path, codebook: str, variables: str = VARIABLES) -> ConfigError:
    var_path = write(tmp_path / "variables.yaml", variables)
    book_path = write(tmp_path / "codebook.yaml", codebook)
    with pytest.raises(ConfigError) as info:
        load_codebook(book_path, load_variables(var_path))
    return info.value


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.lstrip("\n").splitlines(), start=1) if needle in line)


def test_bundled_codebooks_load(root):
    variables = load_variables(root / "config" / "variables.yaml")
    for wave in ("wave1", "wave2"):
        book = load_codebook(root / "config" / "codebooks" / f"{wave}.yaml", variables, wave=wave)
        assert book.wave == wave


def test_duplicate_key_is_rejected_with_its_row(tmp_path):
    path = write(tmp_path / "x.yaml", "a: 1\nb:\n  c: 2\n  c: 3\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert info.value.row == 4 and "appears twice" in info.value.message


def test_yes_and_no_stay_words(tmp_path):
    path = write(tmp_path / "x.yaml", "codes: {1: yes, 2: no, 3: on}\n")
    assert load_yaml(path).data == {"codes": {1: "yes", 2: "no", 3: "on"}}


def test_unknown_type_is_named_with_its_row(tmp_path):
    variables = VARIABLES.replace("    type: multi\n    options: {online", "    type: multiple\n    options: {online")
    var_path = write(tmp_path / "variables.yaml", variables)
    with pytest.raises(ConfigError) as info:
        load_variables(var_path)
    assert "'multiple' is not an accepted value" in info.value.message
    assert "'single'" in info.value.expected
    assert info.value.row == line_of(variables, "type: multiple")


def test_category_listed_twice(tmp_path):
    variables = VARIABLES.replace(
        "categories: {female: Female, male: Male, other: Other}",
        "categories: {female: Female, male: Male, female: Woman}",
    )
    var_path = write(tmp_path / "variables.yaml", variables)
    with pytest.raises(ConfigError, match="'female' appears twice"):
        load_variables(var_path)


def test_skip_rule_naming_a_missing_variable(tmp_path):
    codebook = CODEBOOK.replace(
        'ask_if: {variable: had_phone, in: ["yes"]}', 'ask_if: {variable: had_mobile, in: ["yes"]}'
    )
    error = codebook_error(tmp_path, codebook)
    assert "skip rule of 'phone_monitored' names 'had_mobile'" in error.message
    assert error.row == line_of(codebook, "had_mobile")


def test_code_mapping_to_unknown_category(tmp_path):
    codebook = CODEBOOK.replace('"3": other, "Female": female', '"3": nonbinary, "Female": female')
    error = codebook_error(tmp_path, codebook)
    assert "maps to 'nonbinary'" in error.message and error.value == "nonbinary"
    assert "female" in error.expected


def test_unknown_key_in_codebook(tmp_path):
    codebook = CODEBOOK.replace("respondent_id: pid", "respondent_id: pid\nrespondent: pid")
    error = codebook_error(tmp_path, codebook)
    assert "unknown key(s) 'respondent'" in error.message


def test_variable_of_the_wave_left_unmapped(tmp_path):
    codebook = CODEBOOK.replace('  had_phone: {column: phone, codes: {"1": "yes", "2": "no"}}\n', "")
    codebook = codebook.replace('ask_if: {variable: had_phone, in: ["yes"]}', "")
    error = codebook_error(tmp_path, codebook)
    assert "'had_phone' lists wave 'w1'" in error.message


def test_raw_column_used_twice(tmp_path):
    codebook = CODEBOOK.replace("age_entered: {column: age_entered}", "age_entered: {column: age}")
    error = codebook_error(tmp_path, codebook)
    assert "raw column 'age' is used twice" in error.message


def test_cleaning_rule_with_unknown_variable(tmp_path):
    codebook = CODEBOOK.replace("require: age_entered < 18", "require: age_first < 18")
    error = codebook_error(tmp_path, codebook)
    assert "uses ['age_first']" in error.message


def test_derivation_checked_against_categories(tmp_path):
    variables = VARIABLES.replace("breaks: [2004]", "breaks: [2004, 2015]")
    var_path = write(tmp_path / "variables.yaml", variables)
    with pytest.raises(ConfigError, match="2 break\\(s\\) make 3 bins but there are 2 categories"):
        load_variables(var_path)


def test_a_wave_carries_what_its_codebook_maps_and_what_that_derives(root):
    variables = load_variables(root / "config" / "variables.yaml")
    wave1 = load_codebook(root / "config" / "codebooks" / "wave1.yaml", variables)
    wave2 = load_codebook(root / "config" / "codebooks" / "wave2.yaml", variables)
    assert "sexual_orientation" in wave2.carried and "sexual_orientation" not in wave1.carried
    for book in (wave1, wave2):
        assert {"entry_cohort", "recruitment_period", "years_since_entered", "under_12"} <= set(book.carried)
        assert "other_specify" in book.carried  # free text is carried (and dropped at ingest)


def test_a_variable_may_restrict_its_waves(tmp_path):
    # VARIABLES lists `waves: [w1]` for every variable; a codebook for another wave cannot map them
    codebook = CODEBOOK.replace("wave: w1", "wave: w2")
    error = codebook_error(tmp_path, codebook)
    assert "'w2' is not among them" in error.message


def test_a_category_may_belong_to_some_waves_and_a_range_to_the_fielding_years(tmp_path):
    text = VARIABLES.replace(
        "categories: {female: Female, male: Male, other: Other}",
        "categories: {female: Female, male: Male, other: Other, nonbinary: {label: Non-binary, waves: [w2]}}",
    ).replace("range: [2010, 2020]", "range: [fielded_from, fielded_to]")
    variables = load_variables(write(tmp_path / "variables.yaml", text))
    assert list(variables["gender"].categories) == ["female", "male", "other", "nonbinary"]
    w1 = variables.for_waves({"w1": (2013, 2014)})
    assert list(w1["gender"].categories) == ["female", "male", "other"] and w1["survey_year"].range == (2013, 2014)
    both = variables.for_waves({"w1": (2013, 2014), "w2": (2016, 2017)})
    assert list(both["gender"].categories)[-1] == "nonbinary" and both["survey_year"].range == (2013, 2017)
    # A view is a variables file of its own: what a wave's jobs read.
    view = write(tmp_path / "view.yaml", yaml.safe_dump(w1.document(), sort_keys=False))
    assert load_variables(view)["survey_year"].range == (2013, 2014)
    only = variables.for_waves({"w1": (2013, 2014)}, names=["gender"])
    assert list(only.variables) == ["gender"]


def test_a_codebook_maps_only_the_categories_of_its_wave(tmp_path):
    text = VARIABLES.replace(
        "categories: {female: Female, male: Male, other: Other}",
        "categories: {female: Female, male: Male, other: Other, nonbinary: {label: Non-binary, waves: [w2]}}",
    )
    variables = load_variables(write(tmp_path / "variables.yaml", text)).for_waves({"w1": (2016, 2016)})
    book = write(tmp_path / "codebook.yaml", CODEBOOK.replace('"3": other,', '"3": other, "4": nonbinary,'))
    with pytest.raises(ConfigError, match="maps to 'nonbinary', which is neither a category"):
        load_codebook(book, variables)
