"""Ingest: turn a raw export into the harmonised respondent frame through the wave's codebook.

The respondent frame has one row per raw response: a pseudonymous ``respondent_id`` (the raw id never passes
this stage), ``wave``, ``source_row`` (where the response is in the raw file), the design variables ``org`` and
``region``, then every harmonised variable the wave carries. A variable's values are in its value column(s);
``{variable}__missing`` says why a value is absent (a codebook missing code such as ``refused``, or
``no_answer``). Columns the codebook drops (identifiers, contact details, locations, platform metadata, free
text) are checked to exist and then discarded.

Nothing is silently changed: a raw value that matches its code only once stray case or whitespace is ignored
is accepted and reported as a finding, and a value that matches nothing stops the run with its row and column.
Nor is a value label of an SPSS or Stata file that disagrees with the code the codebook maps (see
:func:`survey_audit.intake.check.label_problems`): every such label stops the run, all of them listed at once.
The columns read here (the organisation, coded and integer answers) are neither identifying nor free text, so a
value in a message is shown when it is a short code and described otherwise (:func:`survey_audit.errors.raw_value`).

What a cell becomes depends on its text alone, so each raw column is mapped once per distinct value (in order of
first appearance) and the results are spread to the rows; findings, pseudonyms and the row an error names are
those a reading cell by cell would give.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..config.codebook import Codebook, Mapping
from ..config.variables import NO_ANSWER, STRAY_TEXT, Variable, VariableSet, normalise_text
from ..errors import Collector, InputError, raw_value
from .check import label_problems, not_described
from .readers import TEXT, RawTable

FINDING_COLUMNS = ["respondent_id", "source_row", "variable", "column", "finding"]
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_INTEGER = re.compile(r"^[+-]?\d+(\.0+)?$")
_ASCII_SPACE = "[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f ]"  # the ASCII characters str.split() splits at (RE2)


@dataclass
class Harmonised:
    """The respondent frame of one wave, and what ingest noticed on the way."""

    respondents: pd.DataFrame
    findings: pd.DataFrame


def check_columns(raw: RawTable, codebook: Codebook) -> None:
    """The raw file must have exactly the columns the codebook names (maps or drops), in any order."""
    expected = codebook.expected_columns
    mismatch = not_described(expected, raw.columns)
    if mismatch is not None:
        raise InputError(
            mismatch,
            file=raw.path,
            row=1,
            expected=f"the export {codebook.path} was written for (wave '{codebook.wave}')",
            hint="check that the file and the codebook are of the same wave",
        )
    present = set(raw.columns)
    missing = [c for c in expected if c not in present]
    if missing:
        raise InputError(
            f"the file lacks {len(missing)} column(s) the codebook expects: {', '.join(repr(c) for c in missing)}",
            file=raw.path,
            row=1,
            column=missing[0],
            expected=f"the columns named in {codebook.path}",
            hint="check that the export is the right wave and that no column was renamed",
        )
    unexpected = [c for c in raw.columns if c not in set(expected)]
    if unexpected:
        raise InputError(
            f"the file has {len(unexpected)} column(s) the codebook does not mention: {', '.join(repr(c) for c in unexpected)}",
            file=raw.path,
            row=1,
            column=unexpected[0],
            expected=f"each column either mapped to a variable or listed under 'drop' in {codebook.path}",
            hint="add the column to the codebook (map it, or drop it with a reason) so nothing passes unreviewed",
        )


def harmonise(raw: RawTable, codebook: Codebook, variables: VariableSet) -> Harmonised:
    """Map a raw export onto the harmonised variables of its wave, once its columns are the codebook's and its
    value labels (SPSS, Stata) agree with the codebook's codes (every disagreement reported at once)."""
    check_columns(raw, codebook)
    labels = Collector(f"the value labels of {raw.path}")
    for problem in label_problems(raw, codebook, variables):
        labels.add(problem)
    labels.raise_if_any()
    findings: list[tuple[np.ndarray, str, str]] = []
    ids = _pseudonyms(raw, codebook)
    base = pd.DataFrame(
        {
            "respondent_id": ids,
            "wave": codebook.wave,
            "source_row": raw.source_rows.astype(np.int64),
        }
    )
    org, region = _organisations(raw, codebook)
    base["org"] = org
    base["region"] = region
    columns: dict[str, pd.Series] = {}
    reasons = list(variables.missing_reasons)
    for var in codebook.variables(variables):
        mapping = codebook.mappings.get(var.name)
        if mapping is None or var.type == "text":
            continue  # derived later, or free text: dropped here
        context = _Context(raw, mapping, reasons, findings)
        if var.is_multi:
            values, missing = _multi(context)
            columns.update(values)
        elif var.type == "integer":
            value, missing = _integer(context)
            columns[var.name] = value
        else:
            value, missing = _categorical(context)
            columns[var.name] = value
        columns[var.missing_column] = pd.Categorical.from_codes(missing, categories=reasons)
    frame = pd.concat([base, pd.DataFrame(columns, index=base.index)], axis=1)
    finding_frame = _finding_frame(findings, ids, raw.source_rows)
    finding_frame = finding_frame.sort_values(["source_row", "variable", "column"], kind="stable").reset_index(
        drop=True
    )
    return Harmonised(frame, finding_frame)


def _finding_frame(findings: list[tuple[np.ndarray, str, str]], ids: pd.arrays.ArrowStringArray, source_rows):
    """The findings, one row per note, in the order they were noted (per column: rows ascending)."""
    if not findings:
        return pd.DataFrame([], columns=FINDING_COLUMNS)
    at = np.concatenate([index for index, _, _ in findings])
    return pd.DataFrame(
        {
            "respondent_id": ids[at],
            "source_row": source_rows[at].astype(np.int64),
            "variable": np.concatenate([np.full(len(index), var, dtype=object) for index, var, _ in findings]),
            "column": np.concatenate([np.full(len(index), column, dtype=object) for index, _, column in findings]),
            "finding": STRAY_TEXT,
        },
        columns=FINDING_COLUMNS,
    )


# Columnar evaluation. What a cell becomes (its value, missing reason, notes, or the error it raises) depends on
# its text alone, so each column is factorised and a cell's logic runs once per distinct value, the result
# broadcast to the rows by the factor codes. Distinct values are taken in order of first appearance and each is
# evaluated as if at its first row, so the first value that fails is the one whose first row is the earliest
# failing row: every row holding a failing value fails, the earliest failing row holds some failing value v, and
# v's first appearance (itself a failing row) cannot come earlier. A row-by-row reading would stop at that same
# row with the same message.


def _distinct(raw: RawTable, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A column's factor codes (one per row), its distinct values in order of first appearance, and the source
    row of each distinct value's first appearance."""
    codes, uniques = pd.factorize(raw.frame[column], sort=False, use_na_sentinel=False)  # Arrow's hashing
    return codes, np.asarray(uniques, dtype=object), raw.source_rows[_first_rows(codes)]


def _first_rows(codes: np.ndarray) -> np.ndarray:
    """The row where each code first appears, for codes numbered in order of first appearance (each new code is
    one more than every code before it)."""
    if not len(codes):
        return np.zeros(0, dtype=np.int64)
    seen = np.maximum.accumulate(codes)
    return np.flatnonzero(np.concatenate(([True], codes[1:] > seen[:-1])))


def _pseudonyms(raw: RawTable, codebook: Codebook) -> pd.arrays.ArrowStringArray:
    """Replace raw respondent ids by wave-local pseudonyms in order of first appearance.

    Responses sharing an id (after case and whitespace are ignored) share a pseudonym, so duplicate detection
    still works; a blank id gets a pseudonym of its own. A pseudonym numbers the row where its id first appears.
    The ids are compared by their distinct values (keys in order of first appearance, so the key codes of the
    distinct values, spread to the rows, are those of the rows' keys); the pseudonyms are written by Arrow.
    """
    n = len(raw)
    codes, uniques = pd.factorize(raw.frame[codebook.respondent_id], sort=False, use_na_sentinel=False)
    keys = pc.dictionary_encode(_normalised(pa.array(uniques, type=pa.large_string())))
    key_codes = keys.indices.to_numpy()[codes]
    blank = np.asarray(pc.equal(pc.binary_length(keys.dictionary), 0))[key_codes]
    position = np.where(blank, np.arange(n), _first_rows(key_codes)[key_codes]) + 1
    numbers = pc.utf8_lpad(pc.cast(pa.array(position), pa.string()), width=4, padding="0")
    ids = pc.binary_join_element_wise(f"{codebook.wave}-", numbers, "")
    return pd.arrays.ArrowStringArray(ids.cast(pa.large_string()), dtype=TEXT)


def _normalised(values: pa.Array) -> pa.Array:
    """:func:`~survey_audit.config.variables.normalise_text` of each value: an ASCII value without whitespace
    only has its case lowered (by Arrow); the others go through normalise_text itself."""
    simple = pc.and_(pc.string_is_ascii(values), pc.invert(pc.match_substring_regex(values, _ASCII_SPACE)))
    keys = pc.ascii_lower(values)
    other = pc.invert(simple)
    rest = values.filter(other).to_pylist()
    if not rest:
        return keys
    return pc.replace_with_mask(keys, other, pa.array([normalise_text(v) for v in rest], type=keys.type))


def _organisations(raw: RawTable, codebook: Codebook) -> tuple[pd.Categorical, pd.Categorical]:
    column = codebook.organisation_column
    org_categories = sorted({o.code for o in codebook.organisations.values()})
    region_categories = sorted({o.region for o in codebook.organisations.values()})
    codes, uniques, rows = _distinct(raw, column)
    org_codes = np.full(len(uniques), -1, dtype=np.int64)
    region_codes = np.full(len(uniques), -1, dtype=np.int64)
    for at, (value, row) in enumerate(zip(uniques, rows)):
        key = normalise_text(value)
        if not key:
            continue
        org = codebook.organisations.get(key)
        if org is None:
            raise InputError(
                "the organisation code is not in the codebook",
                file=raw.path,
                row=int(row),
                column=column,
                value=raw_value(value, private=False),
                expected="one of " + ", ".join(o.code for o in codebook.organisations.values()),
                hint=f"add the organisation to 'organisation: codes' in {codebook.path}",
            )
        org_codes[at] = org_categories.index(org.code)
        region_codes[at] = region_categories.index(org.region)
    return (
        pd.Categorical.from_codes(org_codes[codes], categories=org_categories),
        pd.Categorical.from_codes(region_codes[codes], categories=region_categories),
    )


@dataclass
class _Context:
    raw: RawTable
    mapping: Mapping
    reasons: list[str]  # the missing reasons of the plan: the categories of a variable's missing column
    findings: list[tuple[np.ndarray, str, str]]

    @property
    def var(self) -> Variable:
        return self.mapping.variable

    def reason_codes(self, reasons: np.ndarray) -> np.ndarray:
        """Each reason's position among the missing reasons; -1 for None (not missing), and for a reason that is
        none of them, as ``pd.Categorical`` would have it."""
        return np.array([self.reasons.index(r) if r in self.reasons else -1 for r in reasons], dtype=np.int64)

    def note(self, column: str, counts: np.ndarray) -> None:
        """Note ``counts[i]`` findings of stray text on row ``i`` of the column (rows ascending)."""
        if counts.any():
            self.findings.append((np.repeat(np.arange(len(counts)), counts), self.var.name, column))

    def lookup(self, column: str, value: str, table: dict[str, str]) -> tuple[str | None, bool]:
        """The target of a raw value in a code table (keyed by normalised codes), trying the raw code and then
        its value label, and whether the value matched only once case or whitespace was ignored (a finding)."""
        target = table.get(normalise_text(value))
        if target is not None:
            return target, value not in self.mapping.exact_codes
        label = self.raw.value_labels.get(column, {}).get(value.strip())
        if label is not None:
            target = table.get(normalise_text(label))
            return target, target is not None and value != value.strip()
        return None, False

    def unknown(self, row: int, column: str, value: str, accepted: list[str]) -> InputError:
        return InputError(
            f"the value is not a code of '{self.var.name}' ({self.var.label})",
            file=self.raw.path,
            row=int(row),
            column=column,
            value=raw_value(value, private=False),
            expected="one of " + ", ".join(repr(a) for a in accepted) + " or blank",
            hint="fix the value in the raw file, or add the code to the codebook if it is a real answer",
        )


def _categorical(ctx: _Context) -> tuple[pd.Categorical, np.ndarray]:
    mapping, var = ctx.mapping, ctx.var
    table = {**mapping.missing, **mapping.codes}
    categories = list(var.categories)
    codes, uniques, rows = _distinct(ctx.raw, mapping.column)
    value_codes = np.full(len(uniques), -1, dtype=np.int64)
    missing = np.full(len(uniques), None, dtype=object)
    stray = np.zeros(len(uniques), dtype=np.int64)
    for at, (value, row) in enumerate(zip(uniques, rows)):
        if not value.strip():
            missing[at] = NO_ANSWER
            continue
        target, stray[at] = ctx.lookup(mapping.column, value, table)
        if target is None:
            raise ctx.unknown(row, mapping.column, value, list(mapping.codes) + list(mapping.missing))
        if target in var.categories:
            value_codes[at] = categories.index(target)
        else:
            missing[at] = target
    ctx.note(mapping.column, stray[codes])
    return pd.Categorical.from_codes(value_codes[codes], categories=categories), ctx.reason_codes(missing)[codes]


def _integer(ctx: _Context) -> tuple[pd.arrays.IntegerArray, np.ndarray]:
    mapping, var = ctx.mapping, ctx.var
    codes, uniques, rows = _distinct(ctx.raw, mapping.column)
    numbers = np.ones(len(uniques), dtype=np.int64)  # 1 under a missing value, as pd.array fills it
    absent = np.zeros(len(uniques), dtype=bool)
    missing = np.full(len(uniques), None, dtype=object)
    stray = np.zeros(len(uniques), dtype=np.int64)
    for at, (value, row) in enumerate(zip(uniques, rows)):
        text = value.strip()
        if not text:
            absent[at], missing[at] = True, NO_ANSWER
            continue
        target, noted = ctx.lookup(mapping.column, value, mapping.missing) if mapping.missing else (None, False)
        if target is not None:
            absent[at], missing[at], stray[at] = True, target, noted
            continue
        if mapping.parse == "year":
            match = _YEAR.search(text)
            if not match:
                raise InputError(
                    f"no year can be read from the value of '{var.name}'",
                    file=ctx.raw.path,
                    row=int(row),
                    column=mapping.column,
                    value=raw_value(value, private=False),
                    expected="a date with a four-digit year, such as 2016-05-03 or 5/3/2016",
                )
            numbers[at] = int(match.group(1))
            continue
        if not _INTEGER.match(text):
            raise InputError(
                f"'{var.name}' ({var.label}) must be a whole number",
                file=ctx.raw.path,
                row=int(row),
                column=mapping.column,
                value=raw_value(value, private=False),
                expected="a whole number"
                + (
                    f", or one of the missing codes {', '.join(repr(m) for m in mapping.missing)}"
                    if mapping.missing
                    else ""
                ),
            )
        number = int(text.split(".")[0])  # digits parsed exactly: no detour through floating point
        if not -(2**63) < number < 2**63:
            raise InputError(
                f"'{var.name}' ({var.label}) is too large to be a valid answer",
                file=ctx.raw.path,
                row=int(row),
                column=mapping.column,
                value=raw_value(value, private=False),
                expected="a whole number such as an age, a year or a count",
            )
        numbers[at], stray[at] = number, value != text
    ctx.note(mapping.column, stray[codes])
    return pd.arrays.IntegerArray(numbers[codes], absent[codes]), ctx.reason_codes(missing)[codes]


def _multi(ctx: _Context) -> tuple[dict[str, pd.arrays.BooleanArray], np.ndarray]:
    mapping, var = ctx.mapping, ctx.var
    n = len(ctx.raw)
    chosen = {option: np.zeros(n, dtype=bool) for option in var.categories}
    answered = np.zeros(n, dtype=bool)
    missing = np.full(n, -1, dtype=np.int64)  # positions among the missing reasons
    has_missing = np.zeros(n, dtype=bool)
    if mapping.column is not None:
        table = {**mapping.missing, **mapping.codes}
        codes, uniques, rows = _distinct(ctx.raw, mapping.column)
        picked = {option: np.zeros(len(uniques), dtype=bool) for option in var.categories}
        reason = np.full(len(uniques), None, dtype=object)
        stray = np.zeros(len(uniques), dtype=np.int64)
        for at, (value, row) in enumerate(zip(uniques, rows)):
            tokens = [t for t in value.split(mapping.delimiter)] if value.strip() else []
            for token in tokens:
                if not token.strip():
                    continue
                target, noted = ctx.lookup(mapping.column, token, table)
                stray[at] += noted  # the notes of one cell are alike: how many is all that is kept
                if target is None:
                    raise ctx.unknown(row, mapping.column, token, list(mapping.codes) + list(mapping.missing))
                if target in picked:
                    picked[target][at] = True
                else:
                    reason[at] = target  # the last missing code of the cell, as a row-by-row reading kept
        ctx.note(mapping.column, stray[codes])
        for option, flags in picked.items():
            chosen[option] = flags[codes]
            answered |= chosen[option]
        missing = ctx.reason_codes(reason)[codes]
        has_missing = np.array([r is not None for r in reason], dtype=bool)[codes]
    else:
        selected = set(mapping.selected)
        for column, option in mapping.columns.items():
            codes, uniques, rows = _distinct(ctx.raw, column)
            picked = np.zeros(len(uniques), dtype=bool)
            reason = np.full(len(uniques), None, dtype=object)
            stray = np.zeros(len(uniques), dtype=np.int64)
            for at, (value, row) in enumerate(zip(uniques, rows)):
                if not value.strip():
                    continue
                if normalise_text(value) in selected:
                    picked[at], stray[at] = True, value not in mapping.exact_codes
                    continue
                target, stray[at] = ctx.lookup(column, value, mapping.missing) if mapping.missing else (None, False)
                if target is None:
                    raise ctx.unknown(row, column, value, list(mapping.selected) + list(mapping.missing))
                reason[at] = target
            ctx.note(column, stray[codes])
            chosen[option] |= picked[codes]
            answered |= picked[codes]
            given = np.array([r is not None for r in reason], dtype=bool)[codes]
            # a later column's missing code replaces an earlier one's
            missing[given] = ctx.reason_codes(reason)[codes][given]
            has_missing |= given
    conflict = np.flatnonzero(answered & has_missing)
    if len(conflict):
        raise InputError(
            f"the multi-select question '{var.name}' has both options chosen and a missing code",
            file=ctx.raw.path,
            row=int(ctx.raw.source_rows[conflict[0]]),
            column=mapping.raw_columns[0],
            expected="either chosen options or a single missing code",
        )
    missing[~answered & ~has_missing] = ctx.reason_codes([NO_ANSWER])[0]
    values = {var.option_column(option): pd.arrays.BooleanArray(flags, ~answered) for option, flags in chosen.items()}
    return values, missing
