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
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config.codebook import Codebook, Mapping
from ..config.variables import NO_ANSWER, STRAY_TEXT, Variable, VariableSet, normalise_text
from ..errors import Collector, InputError, raw_value
from .check import label_problems, not_described
from .readers import RawTable

FINDING_COLUMNS = ["respondent_id", "source_row", "variable", "column", "finding"]
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_INTEGER = re.compile(r"^[+-]?\d+(\.0+)?$")


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
    findings: list[dict] = []
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
    for var in codebook.variables(variables):
        mapping = codebook.mappings.get(var.name)
        if mapping is None or var.type == "text":
            continue  # derived later, or free text: dropped here
        context = _Context(raw, mapping, ids, findings)
        if var.is_multi:
            values, missing = _multi(context)
            columns.update(values)
        elif var.type == "integer":
            value, missing = _integer(context)
            columns[var.name] = value
        else:
            value, missing = _categorical(context)
            columns[var.name] = value
        columns[var.missing_column] = _missing_categorical(missing, variables)
    frame = pd.concat([base, pd.DataFrame(columns, index=base.index)], axis=1)
    finding_frame = pd.DataFrame(findings, columns=FINDING_COLUMNS)
    finding_frame = finding_frame.sort_values(["source_row", "variable", "column"], kind="stable").reset_index(
        drop=True
    )
    return Harmonised(frame, finding_frame)


def _missing_categorical(reasons: list, variables: VariableSet) -> pd.Categorical:
    return pd.Categorical(reasons, categories=list(variables.missing_reasons))


def _pseudonyms(raw: RawTable, codebook: Codebook) -> list[str]:
    """Replace raw respondent ids by wave-local pseudonyms in order of first appearance.

    Responses sharing an id (after case and whitespace are ignored) share a pseudonym, so duplicate detection
    still works; a blank id gets a pseudonym of its own.
    """
    assigned: dict[str, str] = {}
    out = []
    for value in raw.frame[codebook.respondent_id]:
        key = normalise_text(value)
        if not key:
            out.append(f"{codebook.wave}-{len(out) + 1:04d}")
            continue
        if key not in assigned:
            assigned[key] = f"{codebook.wave}-{len(out) + 1:04d}"
        out.append(assigned[key])
    return out


def _organisations(raw: RawTable, codebook: Codebook) -> tuple[pd.Categorical, pd.Categorical]:
    column = codebook.organisation_column
    codes, regions = [], []
    for row, value in zip(raw.source_rows, raw.frame[column]):
        key = normalise_text(value)
        if not key:
            codes.append(None)
            regions.append(None)
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
        codes.append(org.code)
        regions.append(org.region)
    org_categories = sorted({o.code for o in codebook.organisations.values()})
    region_categories = sorted({o.region for o in codebook.organisations.values()})
    return pd.Categorical(codes, categories=org_categories), pd.Categorical(regions, categories=region_categories)


@dataclass
class _Context:
    raw: RawTable
    mapping: Mapping
    ids: list[str]
    findings: list[dict]

    @property
    def var(self) -> Variable:
        return self.mapping.variable

    def cells(self, column: str):
        return zip(range(len(self.raw)), self.raw.source_rows, self.raw.frame[column])

    def note(self, index: int, column: str, finding: str) -> None:
        self.findings.append(
            {
                "respondent_id": self.ids[index],
                "source_row": int(self.raw.source_rows[index]),
                "variable": self.var.name,
                "column": column,
                "finding": finding,
            }
        )

    def lookup(self, index: int, column: str, value: str, table: dict[str, str]) -> str | None:
        """The target of a raw value in a code table (keyed by normalised codes), trying the raw code and then
        its value label; a value that matches only once case or whitespace is ignored is noted."""
        target = table.get(normalise_text(value))
        if target is not None:
            if value not in self.mapping.exact_codes:
                self.note(index, column, STRAY_TEXT)
            return target
        label = self.raw.value_labels.get(column, {}).get(value.strip())
        if label is not None:
            target = table.get(normalise_text(label))
            if target is not None and value != value.strip():
                self.note(index, column, STRAY_TEXT)
        return target

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


def _categorical(ctx: _Context) -> tuple[pd.Categorical, list]:
    mapping, var = ctx.mapping, ctx.var
    values, missing = [], []
    table = {**mapping.missing, **mapping.codes}
    for index, row, value in ctx.cells(mapping.column):
        if not value.strip():
            values.append(None)
            missing.append(NO_ANSWER)
            continue
        target = ctx.lookup(index, mapping.column, value, table)
        if target is None:
            raise ctx.unknown(row, mapping.column, value, list(mapping.codes) + list(mapping.missing))
        if target in var.categories:
            values.append(target)
            missing.append(None)
        else:
            values.append(None)
            missing.append(target)
    return pd.Categorical(values, categories=list(var.categories)), missing


def _integer(ctx: _Context) -> tuple[pd.Series, list]:
    mapping, var = ctx.mapping, ctx.var
    values, missing = [], []
    for index, row, value in ctx.cells(mapping.column):
        text = value.strip()
        if not text:
            values.append(pd.NA)
            missing.append(NO_ANSWER)
            continue
        target = ctx.lookup(index, mapping.column, value, mapping.missing) if mapping.missing else None
        if target is not None:
            values.append(pd.NA)
            missing.append(target)
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
            values.append(int(match.group(1)))
            missing.append(None)
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
        if value != text:
            ctx.note(index, mapping.column, STRAY_TEXT)
        values.append(number)
        missing.append(None)
    return pd.array(values, dtype="Int64"), missing


def _multi(ctx: _Context) -> tuple[dict[str, pd.Series], list]:
    mapping, var = ctx.mapping, ctx.var
    n = len(ctx.raw)
    chosen = {option: np.zeros(n, dtype=bool) for option in var.categories}
    answered = np.zeros(n, dtype=bool)
    missing: list = [None] * n
    if mapping.column is not None:
        table = {**mapping.missing, **mapping.codes}
        for index, row, value in ctx.cells(mapping.column):
            tokens = [t for t in value.split(mapping.delimiter)] if value.strip() else []
            for token in tokens:
                if not token.strip():
                    continue
                target = ctx.lookup(index, mapping.column, token, table)
                if target is None:
                    raise ctx.unknown(row, mapping.column, token, list(mapping.codes) + list(mapping.missing))
                if target in chosen:
                    chosen[target][index] = True
                    answered[index] = True
                else:
                    missing[index] = target
    else:
        selected = set(mapping.selected)
        for column, option in mapping.columns.items():
            for index, row, value in ctx.cells(column):
                if not value.strip():
                    continue
                key = normalise_text(value)
                if key in selected:
                    if value not in mapping.exact_codes:
                        ctx.note(index, column, STRAY_TEXT)
                    chosen[option][index] = True
                    answered[index] = True
                    continue
                target = ctx.lookup(index, column, value, mapping.missing) if mapping.missing else None
                if target is None:
                    raise ctx.unknown(row, column, value, list(mapping.selected) + list(mapping.missing))
                missing[index] = target
    for index in range(n):
        if answered[index]:
            if missing[index] is not None:
                raise InputError(
                    f"the multi-select question '{var.name}' has both options chosen and a missing code",
                    file=ctx.raw.path,
                    row=int(ctx.raw.source_rows[index]),
                    column=mapping.raw_columns[0],
                    expected="either chosen options or a single missing code",
                )
        elif missing[index] is None:
            missing[index] = NO_ANSWER
    values = {}
    for option, flags in chosen.items():
        series = pd.array(flags, dtype="boolean")
        series[~answered] = pd.NA
        values[var.option_column(option)] = series
    return values, missing
