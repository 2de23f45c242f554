"""Harmonise at scale: the columnar mapping (each distinct value of a column mapped once, the result broadcast to
its rows) gives what a reading cell by cell gives. Oracle: a plain row-by-row reference written here, the code
before harmonise went columnar, run on the bundled waves replicated to thousands of rows with stray case and
whitespace, value labels and injected bad values; frames, findings and the first error must be equal. The keys
ids are compared by (computed by Arrow where it can) are normalise_text's."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, bundled_plan
from survey_audit.config.variables import NO_ANSWER, STRAY_TEXT, normalise_text
from survey_audit.errors import InputError, raw_value
from survey_audit.intake.harmonise import _ASCII_SPACE, FINDING_COLUMNS, _normalised, harmonise
from survey_audit.intake.readers import TEXT, RawTable, read_raw

_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_INTEGER = re.compile(r"^[+-]?\d+(\.0+)?$")


# ------------------------------------------------------------------------------------ the row-by-row oracle


def reference(raw: RawTable, book, variables) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cell by cell, in row order, raising at the first bad cell."""
    findings: list[dict] = []
    ids, assigned = [], {}
    for value in raw.frame[book.respondent_id]:
        key = normalise_text(value)
        if not key:
            ids.append(f"{book.wave}-{len(ids) + 1:04d}")
            continue
        assigned.setdefault(key, f"{book.wave}-{len(ids) + 1:04d}")
        ids.append(assigned[key])
    orgs, regions = [], []
    for row, value in zip(raw.source_rows, raw.frame[book.organisation_column]):
        key = normalise_text(value)
        org = book.organisations.get(key) if key else None
        if key and org is None:
            raise InputError(
                "the organisation code is not in the codebook",
                file=raw.path,
                row=int(row),
                column=book.organisation_column,
                value=raw_value(value, private=False),
                expected="one of " + ", ".join(o.code for o in book.organisations.values()),
                hint=f"add the organisation to 'organisation: codes' in {book.path}",
            )
        orgs.append(org.code if org else None)
        regions.append(org.region if org else None)
    frame = {
        "respondent_id": ids,
        "wave": book.wave,
        "source_row": raw.source_rows.astype(np.int64),
        "org": pd.Categorical(orgs, categories=sorted({o.code for o in book.organisations.values()})),
        "region": pd.Categorical(regions, categories=sorted({o.region for o in book.organisations.values()})),
    }
    for var in book.variables(variables):
        mapping = book.mappings.get(var.name)
        if mapping is None or var.type == "text":
            continue
        cell = Cells(raw, mapping, ids, findings)
        if var.is_multi:
            values, missing = cell.multi()
            frame.update(values)
        elif var.type == "integer":
            frame[var.name], missing = cell.integer()
        else:
            frame[var.name], missing = cell.categorical()
        frame[var.missing_column] = pd.Categorical(missing, categories=list(variables.missing_reasons))
    found = pd.DataFrame(findings, columns=FINDING_COLUMNS)
    return pd.DataFrame(frame), found.sort_values(["source_row", "variable", "column"], kind="stable").reset_index(
        drop=True
    )


class Cells:
    def __init__(self, raw, mapping, ids, findings):
        self.raw, self.mapping, self.var, self.ids, self.findings = raw, mapping, mapping.variable, ids, findings

    def cells(self, column):
        return zip(range(len(self.raw)), self.raw.source_rows, self.raw.frame[column])

    def note(self, index, column):
        row = int(self.raw.source_rows[index])
        self.findings.append(dict(zip(FINDING_COLUMNS, [self.ids[index], row, self.var.name, column, STRAY_TEXT])))

    def lookup(self, index, column, value, table):
        target = table.get(normalise_text(value))
        if target is not None:
            if value not in self.mapping.exact_codes:
                self.note(index, column)
            return target
        label = self.raw.value_labels.get(column, {}).get(value.strip())
        if label is not None:
            target = table.get(normalise_text(label))
            if target is not None and value != value.strip():
                self.note(index, column)
        return target

    def error(self, problem, row, column, value, expected, hint=None):
        return InputError(
            problem,
            file=self.raw.path,
            row=int(row),
            column=column,
            value=raw_value(value, private=False),
            expected=expected,
            hint=hint,
        )

    def unknown(self, row, column, value, accepted):
        return self.error(
            f"the value is not a code of '{self.var.name}' ({self.var.label})",
            row,
            column,
            value,
            "one of " + ", ".join(repr(a) for a in accepted) + " or blank",
            "fix the value in the raw file, or add the code to the codebook if it is a real answer",
        )

    def categorical(self):
        m = self.mapping
        values, missing, table = [], [], {**m.missing, **m.codes}
        for index, row, value in self.cells(m.column):
            target = self.lookup(index, m.column, value, table) if value.strip() else NO_ANSWER
            if target is None:
                raise self.unknown(row, m.column, value, list(m.codes) + list(m.missing))
            values.append(target if target in self.var.categories else None)
            missing.append(None if target in self.var.categories else target)
        return pd.Categorical(values, categories=list(self.var.categories)), missing

    def integer(self):
        m, var = self.mapping, self.var
        values, missing = [], []
        for index, row, value in self.cells(m.column):
            text = value.strip()
            target = NO_ANSWER if not text else self.lookup(index, m.column, value, m.missing) if m.missing else None
            if target is not None:
                values.append(pd.NA)
                missing.append(target)
                continue
            if m.parse == "year":
                match = _YEAR.search(text)
                if not match:
                    raise self.error(
                        f"no year can be read from the value of '{var.name}'",
                        row,
                        m.column,
                        value,
                        "a date with a four-digit year, such as 2016-05-03 or 5/3/2016",
                    )
                values.append(int(match.group(1)))
                missing.append(None)
                continue
            if not _INTEGER.match(text):
                also = f", or one of the missing codes {', '.join(repr(c) for c in m.missing)}" if m.missing else ""
                raise self.error(
                    f"'{var.name}' ({var.label}) must be a whole number", row, m.column, value, "a whole number" + also
                )
            number = int(text.split(".")[0])
            if not -(2**63) < number < 2**63:
                raise self.error(
                    f"'{var.name}' ({var.label}) is too large to be a valid answer",
                    row,
                    m.column,
                    value,
                    "a whole number such as an age, a year or a count",
                )
            if value != text:
                self.note(index, m.column)
            values.append(number)
            missing.append(None)
        return pd.array(values, dtype="Int64"), missing

    def multi(self):
        m, var, n = self.mapping, self.var, len(self.raw)
        chosen = {option: [False] * n for option in var.categories}
        answered, missing = [False] * n, [None] * n
        if m.column is not None:
            table = {**m.missing, **m.codes}
            for index, row, value in self.cells(m.column):
                for token in value.split(m.delimiter) if value.strip() else []:
                    if not token.strip():
                        continue
                    target = self.lookup(index, m.column, token, table)
                    if target is None:
                        raise self.unknown(row, m.column, token, list(m.codes) + list(m.missing))
                    if target in chosen:
                        chosen[target][index] = answered[index] = True
                    else:
                        missing[index] = target
        else:
            for column, option in m.columns.items():
                for index, row, value in self.cells(column):
                    if not value.strip():
                        continue
                    if normalise_text(value) in set(m.selected):
                        if value not in m.exact_codes:
                            self.note(index, column)
                        chosen[option][index] = answered[index] = True
                        continue
                    target = self.lookup(index, column, value, m.missing) if m.missing else None
                    if target is None:
                        raise self.unknown(row, column, value, list(m.selected) + list(m.missing))
                    missing[index] = target
        for index in range(n):
            if answered[index] and missing[index] is not None:
                raise InputError(
                    f"the multi-select question '{var.name}' has both options chosen and a missing code",
                    file=self.raw.path,
                    row=int(self.raw.source_rows[index]),
                    column=m.raw_columns[0],
                    expected="either chosen options or a single missing code",
                )
            if not answered[index] and missing[index] is None:
                missing[index] = NO_ANSWER
        values = {}
        for option, flags in chosen.items():
            values[var.option_column(option)] = pd.array(
                [flag if done else pd.NA for flag, done in zip(flags, answered)], dtype="boolean"
            )
        return values, missing


# ------------------------------------------------------------------------------------ scaled waves


@pytest.fixture(scope="module")
def plan():
    return bundled_plan()


def bundled(plan, wave):
    book = plan.codebooks[wave]
    raw = read_raw(ROOT / plan.waves[wave].raw, layout=book.layout, encoding=book.encoding, delimiter=book.delimiter)
    return raw, book, plan.view(wave)


def scaled(raw: RawTable, book, n: int, seed: int) -> RawTable:
    """``n`` rows drawn from the bundled export with stray case and whitespace (every fifth cell of a mapped
    column), ids repeated and blank, and value labels for two codes of each single-coded column, the labels
    used in some cells (with and without stray whitespace)."""
    rng = np.random.default_rng(seed)
    frame = raw.frame.iloc[rng.integers(0, len(raw), n)].reset_index(drop=True).copy()
    labels: dict[str, dict[str, str]] = {}
    for mapping in book.mappings.values():
        for column in mapping.raw_columns:
            cells = frame[column].to_numpy(dtype=object, copy=True)
            stray = rng.random(n) < 0.2
            pads = rng.choice(np.array([" {} ", "{}  ", "\t{}", "{}"], dtype=object), n)
            cells[stray] = [
                pad.format(v.upper() if rng.random() < 0.5 else v) for pad, v in zip(pads[stray], cells[stray])
            ]
            if mapping.column is not None and mapping.delimiter is None and mapping.codes:
                codes = list(mapping.codes)[:2]
                labels[column] = {f"label {code}": code for code in codes}
                use = rng.random(n) < 0.05
                cells[use] = [f"label {codes[i % 2]}" + (" " if i % 3 == 0 else "") for i in range(use.sum())]
            frame[column] = pd.array(cells, dtype=TEXT)  # the readers' dtype
    ids = frame[book.respondent_id].to_numpy(dtype=object, copy=True)
    ids[:] = [f"R{i}" for i in rng.integers(0, n // 2, n)]  # about 40% of the ids repeated
    ids[rng.random(n) < 0.1] = " r1 "  # the same id as R1 once case and space are ignored
    ids[rng.random(n) < 0.02] = "  "
    frame[book.respondent_id] = pd.array(ids, dtype=TEXT)
    return replace(raw, frame=frame, source_rows=np.arange(2, n + 2, dtype=np.int64), value_labels=labels)


def outcome(function, *arguments):
    try:
        return function(*arguments)
    except InputError as error:
        return str(error)


@pytest.mark.parametrize("wave", ["wave1", "wave2"])
def test_the_columnar_mapping_equals_a_reading_cell_by_cell(plan, wave):
    raw, book, variables = bundled(plan, wave)
    big = scaled(raw, book, 20_000, seed=int(wave[-1]))
    expected_frame, expected_findings = reference(big, book, variables)
    result = harmonise(big, book, variables)
    pd.testing.assert_frame_equal(result.respondents, expected_frame, check_exact=True)
    pd.testing.assert_frame_equal(result.findings, expected_findings, check_exact=True)
    assert len(expected_findings) > 5000  # the stray text and labels were exercised
    assert set(expected_frame["respondent_id"]) > {f"{wave}-0001"}


BAD = ["nonsense", "12x", "", "ZZ", "99999999999999999999", "yes,nope", "1,"]


@pytest.mark.parametrize("seed", range(12))
def test_the_first_bad_value_stops_both_at_the_same_row_with_the_same_message(plan, seed):
    wave = ["wave1", "wave2"][seed % 2]
    raw, book, variables = bundled(plan, wave)
    big = scaled(raw, book, 2_000, seed=100 + seed)
    rng = np.random.default_rng(seed)
    columns = [c for m in book.mappings.values() for c in m.raw_columns] + [book.organisation_column]
    frame = big.frame.copy()
    for _ in range(3):  # a few bad values, anywhere: the earliest (by column order, then row) must win
        column = columns[rng.integers(len(columns))]
        cells = frame[column].to_numpy(dtype=object, copy=True)
        cells[rng.integers(len(cells), size=2)] = rng.choice(np.array(BAD, dtype=object), 2, replace=False)
        frame[column] = cells
    bad = replace(big, frame=frame)
    expected = outcome(lambda: reference(bad, book, variables))
    got = outcome(lambda: harmonise(bad, book, variables))
    if isinstance(expected, str):
        assert got == expected
    else:
        pd.testing.assert_frame_equal(got.respondents, expected[0], check_exact=True)
        pd.testing.assert_frame_equal(got.findings, expected[1], check_exact=True)


def test_a_multi_select_with_options_and_a_missing_code_stops_at_its_first_row(plan):
    raw, book, variables = bundled(plan, "wave1")
    big = scaled(raw, book, 3_000, seed=7)
    mapping = next(m for m in book.mappings.values() if m.variable.is_multi and m.column is None and m.missing)
    first, second = list(mapping.columns)[:2]
    frame = big.frame.copy()
    for at in (2500, 1200, 2900):
        frame.loc[at, first], frame.loc[at, second] = "1", next(iter(mapping.missing))
    bad = replace(big, frame=frame)
    expected = outcome(lambda: reference(bad, book, variables))
    assert "both options chosen and a missing code" in expected and ", row 1202" in expected
    assert outcome(lambda: harmonise(bad, book, variables)) == expected


@pytest.mark.parametrize("seed", range(6))
def test_a_bad_number_or_date_stops_both_at_the_same_row_with_the_same_message(plan, seed):
    raw, book, variables = bundled(plan, ["wave1", "wave2"][seed % 2])
    big = scaled(raw, book, 2_000, seed=200 + seed)
    rng = np.random.default_rng(seed)
    numbers = [m.column for m in book.mappings.values() if m.variable.type == "integer"]
    frame = big.frame.copy()
    for column in rng.choice(numbers, 2):  # different bad values in one column: the earliest row must win
        cells = frame[column].to_numpy(dtype=object, copy=True)
        cells[rng.integers(len(cells), size=4)] = ["12x", "99999999999999999999", "no date", "-3.5"]
        frame[column] = cells
    bad = replace(big, frame=frame)
    expected = outcome(lambda: reference(bad, book, variables))
    assert isinstance(expected, str) and "row" in expected
    assert outcome(lambda: harmonise(bad, book, variables)) == expected


# ------------------------------------------------------------------------------------ ids compared by Arrow


def test_the_ascii_whitespace_arrow_looks_for_is_what_str_split_splits_at():
    found = pc.match_substring_regex(pa.array([chr(c) for c in range(128)]), _ASCII_SPACE).to_pylist()
    assert [chr(c) for c in range(128) if found[c]] == [chr(c) for c in range(128) if chr(c).isspace()]


ID_TEXT = st.text(st.sampled_from(list("aZq9- _\t\x0b\x1f\xa0\u3000éÉẞİﬁΣς")), max_size=6)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(ID_TEXT | st.sampled_from(["", " ", "R1", " r1 ", "r 1", "R  1"]), max_size=12))
def test_ids_are_compared_in_the_form_normalise_text_gives(values):
    keys = _normalised(pa.array(values, type=pa.large_string()))
    assert keys.to_pylist() == [normalise_text(value) for value in values]
