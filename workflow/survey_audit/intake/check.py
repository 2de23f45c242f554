"""Checking a wave before any job runs: its wave-sheet row, codebook and raw export against each other and the
harmonised variables, with every problem listed at once (``survey-audit check-wave ID``, and at the start of
every run, dry runs included).

What is checked, in order; a problem never stops the checks that do not depend on it:

1. the codebook against its schema and the wave's view of the harmonised variables (every codebook problem);
2. the raw file can be read with the codebook's file options;
3. columns: those the codebook names but the file lacks, those the file has but the codebook does not mention,
   and, for each missing one, an unmentioned column whose close spelling suggests it was renamed; when most of
   the codebook's columns are missing, one problem saying the codebook does not describe the file (another
   wave's codebook or file) instead, and no value is checked;
4. values: organisation codes the codebook does not list, raw values of a coded question that match no code
   (through the file's value labels too), integers that are not whole numbers, dates with no year: each with
   its count and first rows;
5. value labels (SPSS, Stata): a code whose label in the file names another category than the codebook maps it
   to (1 = "Male" where the codebook says 1 = female) would invert a table without any error, and a label that
   names no category the codebook could mean is as suspect until the codebook accepts it
   (:func:`label_problems`; ingest runs the same check).

Values are shown only when they are short codes of a column that is neither identifying nor free text; any
other is described by its kind and length (the export may hold survivors' own words; see
:func:`survey_audit.errors.raw_value`).

The whole check is columnar: each mapped column's distinct values are resolved once, whatever the number of
rows. At the start of a run a wave is checked again only when its raw file (size and modification time), its
codebook, the variables, its sheet row or the cleaning configuration changed.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..config.codebook import Codebook, Mapping, load_codebook, private_columns
from ..config.loading import load_yaml
from ..config.variables import Variable, VariableSet, load_variables, normalise_text
from ..config.waves import Wave, load_wave_sheet
from ..errors import Collector, ConfigError, InputError, Problems, SurveyAuditError, raw_value

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from .readers import RawTable

# pandas and the readers are imported only when a wave is read: at the start of a run, a wave whose inputs have
# not changed is not, and the workflow starts without them.

FIRST_ROWS = 5  # rows shown per problem
_INTEGER = re.compile(r"^[+-]?\d+(\.0+)?$")
_YEAR = re.compile(r"(?<!\d)(?:1[89]\d\d|20\d\d)(?!\d)")


@dataclass
class WaveCheck:
    """What checking a wave found: problems (each stops a run) and notes (worth knowing, not wrong)."""

    wave: str
    problems: list[SurveyAuditError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"{self.wave}: " + (f"{len(self.problems)} problem(s)" if self.problems else "no problems")]
        lines += [f"  note: {note}" for note in self.notes]
        if self.problems:
            lines.append(Problems(self.problems, subject=f"wave {self.wave}").message)
        return "\n".join(lines) + "\n"


def check_wave(config: dict, wave: str, root: str | Path = ".") -> WaveCheck:
    """Check one wave of the (validated) configuration; paths are relative to the project directory ``root``."""
    root = Path(root)
    sheet = load_wave_sheet(root / config["waves"], root)
    if wave not in sheet:
        raise ConfigError(
            f"the wave sheet has no wave '{wave}'", file=root / config["waves"], expected="one of " + ", ".join(sheet)
        )
    row = sheet[wave]
    result = WaveCheck(wave)
    view = load_variables(root / config["variables"]).for_waves({wave: (row.fielded_from, row.fielded_to)})
    book = _codebook(result, row, view, config, root)
    raw = _raw(result, row, root, view)
    if raw is None:
        return result
    if raw.blank_rows:
        result.notes.append(f"{len(raw.blank_rows)} blank row(s) skipped (rows {_rows(raw.blank_rows)})")
    if _check_columns(result, raw, row, root / row.codebook) and book is not None:
        _check_values(result, raw, book)
        result.problems += label_problems(raw, book, view)
    return result


def _codebook(result: WaveCheck, row: Wave, view: VariableSet, config: dict, root: Path) -> Codebook | None:
    """The codebook with the mappings that pass their checks (its problems added to the result), or None when
    it cannot be read at all."""
    problems = Collector(f"the codebook {row.codebook}")
    try:
        book = load_codebook(
            root / row.codebook, view, wave=row.wave, cleaning_defaults=config["cleaning"], problems=problems
        )
    except SurveyAuditError as problem:
        problems.add(problem)
        book = None
    result.problems.extend(problems.problems)
    return book


def _raw(result: WaveCheck, row: Wave, root: Path, view: VariableSet) -> RawTable | None:
    from .readers import read_raw

    options = {}
    try:
        data = load_yaml(root / row.codebook).data
        file_spec = data.get("file", {})
        options = {k: file_spec[k] for k in ("layout", "encoding", "delimiter", "sheet") if file_spec.get(k)}
        options["private"] = private_columns(data, view)
    except (SurveyAuditError, AttributeError, TypeError):
        pass  # the codebook's own problems are reported above; read the file with the defaults (nothing shown)
    try:
        return read_raw(root / row.raw, **options)
    except SurveyAuditError as problem:
        result.problems.append(problem)
        return None


def _declared(codebook_path: Path) -> tuple[list[str], str | None]:
    """Every raw column a codebook names (identifier, organisation, mappings, drops) and the wave it says it is
    for, read leniently so that a codebook with problems of its own still has its columns checked."""
    try:
        data = load_yaml(codebook_path).data or {}
    except SurveyAuditError:
        return [], None
    columns = [data.get("respondent_id"), (data.get("organisation") or {}).get("column")]
    for spec in (data.get("variables") or {}).values():
        if isinstance(spec, dict):
            columns += [spec["column"]] if "column" in spec else list(spec.get("columns") or {})
    columns += list(data.get("drop") or {})
    return [str(c) for c in columns if c is not None], data.get("wave")


def not_described(declared: list[str], present: list[str]) -> str | None:
    """The problem of a codebook that does not describe a file at all, or None: when most of the columns it
    names are not in the file, it was written for another export (another wave's codebook, or another wave's
    file), and listing each missing column would only hide that."""
    missing = [c for c in declared if c not in set(present)]
    if len(missing) * 2 <= len(declared):
        return None
    unmentioned = [c for c in present if c not in set(declared)]
    return (
        f"the codebook does not describe this file: {len(missing)} of the {len(declared)} columns it names are not"
        f" in the file ({_listed(missing)}), and {len(unmentioned)} of the file's {len(present)} columns are not in"
        " the codebook"
    )


def _listed(names: list[str], first: int = 5) -> str:
    return ", ".join(repr(n) for n in names[:first]) + (", ..." if len(names) > first else "")


def _check_columns(result: WaveCheck, raw: RawTable, row: Wave, codebook_path: Path) -> bool:
    """The file's columns against those the codebook names; False when the codebook does not describe the file
    at all (then its values are not checked either)."""
    declared, declared_wave = _declared(codebook_path)
    mismatch = not_described(declared, raw.columns)
    if mismatch is not None:
        other = declared_wave is not None and declared_wave != row.wave
        result.problems.append(
            InputError(
                mismatch + (f"; it is the codebook of wave '{declared_wave}'" if other else ""),
                file=raw.path,
                row=1,
                expected=f"a codebook written for this export (the wave sheet gives wave '{row.wave}' the codebook"
                f" {row.codebook})",
                hint=f"check the 'codebook' and 'raw' cells of wave '{row.wave}' in the wave sheet: one of them is"
                " probably another wave's",
            )
        )
        return False
    present = set(raw.columns)
    missing = [c for c in declared if c not in present]
    unexpected = [c for c in raw.columns if c not in set(declared)]
    for column in missing:
        guess = _renamed(column, unexpected)
        result.problems.append(
            InputError(
                f"the file has no column '{column}', which the codebook names",
                file=raw.path,
                row=1,
                column=column,
                expected=f"the columns named in {codebook_path}",
                hint=f"was it renamed '{guess}'? Update the codebook" if guess else "check the export and the codebook",
            )
        )
    if unexpected:
        result.problems.append(
            InputError(
                f"the file has {len(unexpected)} column(s) the codebook does not mention: "
                + ", ".join(repr(c) for c in unexpected),
                file=raw.path,
                row=1,
                column=unexpected[0],
                expected=f"each column either mapped to a variable or listed under 'drop' in {codebook_path}",
                hint="map it, or drop it with a reason, so nothing passes unreviewed",
            )
        )
    return True


def _renamed(column: str, candidates: list[str]) -> str | None:
    """An unmentioned column that is probably a missing column's new name: close spelling."""
    close = difflib.get_close_matches(column, candidates, n=1, cutoff=0.6)
    return close[0] if close else None


def _check_values(result: WaveCheck, raw: RawTable, book: Codebook) -> None:
    """The values of every column the codebook maps and the file has (a missing column is reported apart)."""
    present = set(raw.columns)
    if book.organisation_column in present:
        _check_organisations(result, raw, book)
    for mapping in book.mappings.values():
        var = mapping.variable
        if var.type == "text" or not set(mapping.raw_columns) <= present:
            continue
        if var.type == "integer":
            _check_integers(result, raw, mapping)
        elif mapping.column is not None:
            _check_codes(result, raw, mapping, {**mapping.missing, **mapping.codes}, delimited=var.is_multi)
        else:
            for column in mapping.columns:
                _check_codes(
                    result, raw, mapping, {**mapping.missing, **dict.fromkeys(mapping.selected, "")}, column=column
                )


def _per_value(values: pd.Series, function) -> np.ndarray:
    """``function`` of each row's value, computed once per distinct value (columnar: a column of a million
    answers has a few hundred distinct ones); a missing value counts as ""."""
    import numpy as np
    import pandas as pd

    codes, distinct = pd.factorize(values)
    results = np.array([function(str(v)) for v in distinct] + [function("")])
    return results[codes]


def _check_organisations(result: WaveCheck, raw: RawTable, book: Codebook) -> None:
    values = raw.frame[book.organisation_column]
    known = set(book.organisations)
    unknown = _per_value(values, lambda v: (key := normalise_text(v)) != "" and key not in known)
    if unknown.any():
        accepted = [o.code for o in book.organisations.values()]
        result.problems.append(_unknown(raw, book.organisation_column, values[unknown], "organisation codes", accepted))


def _check_codes(result, raw: RawTable, mapping: Mapping, table: dict, *, delimited: bool = False, column=None):
    """Raw values of a coded question (or tokens of a delimited multi-select) that match no code, directly or
    through their value label."""
    column = column or mapping.column
    labels = raw.value_labels.get(column, {})

    def matched(v: str) -> bool:
        return normalise_text(v) in table or normalise_text(labels.get(v.strip(), "\0")) in table

    def unmatched(value: str) -> bool:
        tokens = value.split(mapping.delimiter) if delimited else [value]
        return any(token.strip() != "" and not matched(token) for token in tokens)

    # each distinct value is looked at once; only the rows of values with an unmatched code are taken apart
    values = raw.frame[column][_per_value(raw.frame[column], unmatched)]
    if delimited:
        values = values.str.split(mapping.delimiter).explode().dropna()
    values = values[values.str.strip() != ""]
    known = {v for v in values.unique() if matched(v)}
    bad = values[~values.isin(known)]
    if len(bad):
        result.problems.append(_unknown(raw, column, bad, f"codes of '{mapping.variable.name}'", list(table)))


def _check_integers(result: WaveCheck, raw: RawTable, mapping: Mapping) -> None:
    missing = set(mapping.missing)
    if mapping.parse == "year":
        fits, what = (lambda text: _YEAR.search(text) is not None), "values with no four-digit year"
    else:
        fits, what = (lambda text: _INTEGER.match(text) is not None), "values that are not whole numbers"

    def wrong(value: str) -> bool:
        text = value.strip()
        return text != "" and normalise_text(text) not in missing and not fits(text)

    bad = _per_value(raw.frame[mapping.column], wrong)
    if bad.any():
        rows = raw.source_rows[bad]
        result.problems.append(
            InputError(
                f"{int(bad.sum())} {what} in '{mapping.variable.name}' (rows {_rows(rows)})",
                file=raw.path,
                column=mapping.column,
                expected="a whole number" if mapping.parse != "year" else "a date with a four-digit year",
            )
        )


def label_problems(raw: RawTable, book: Codebook, variables: VariableSet) -> list[InputError]:
    """Every value label (SPSS, Stata) that contradicts the codebook, one problem per labelled code.

    A code the codebook maps directly (not through its label) is compared with its label in the file, as words:
    case, whitespace and punctuation ignored (apostrophes dropped, so "Don't know" reads as ``dont_know``) and a
    leading copy of the code ("1. Female") left out. The label agrees when it is the id or the label of the
    category (or missing code) the codebook maps the code to, or a label the codebook itself maps to that
    category: a key of its codes with letters in it, such as ``"IP Address": survey``, which is how a label the
    file words differently is accepted. Otherwise it is a problem: a contradiction when the label names another
    category or missing code of the variable (1 = "Male" where the codebook maps 1 to female), else a label the
    codebook does not account for ("IP Address" for ``survey``), which the analyst confirms by adding it to
    the codes. A label that is only the code itself says nothing and is passed over."""
    problems = []
    for mapping in book.mappings.values():
        labels = raw.value_labels.get(mapping.column, {}) if mapping.column is not None else {}
        targets = {**mapping.missing, **mapping.codes}
        names = _names(targets, mapping.variable, variables)
        for code, label in labels.items():
            mapped = targets.get(normalise_text(code))
            words = _label_words(label, code)
            if mapped is None or not words or words in names[mapped]:
                continue
            meant = next((target for target, named in names.items() if words in named), None)
            problems.append(_label_problem(raw, mapping, book, (code, label), mapped, meant, variables))
    return problems


def _label_words(text: str, code: str | None = None) -> tuple[str, ...]:
    """A label (or a name) as the words it is compared by, without a leading copy of ``code``."""
    words = tuple(re.sub(r"[^0-9a-z]+", " ", re.sub(r"['’]", "", text.casefold())).split())
    own = _label_words(code) if code is not None else ()
    return words[len(own) :] if own and words[: len(own)] == own else words


def _names(targets: dict[str, str], var: Variable, variables: VariableSet) -> dict[str, set[tuple[str, ...]]]:
    """The words of each target's id and label, and of the labels the codebook maps to it."""
    names: dict[str, set[tuple[str, ...]]] = {}
    for key, target in targets.items():
        label = var.categories.get(target, variables.missing_codes.get(target, target))
        named = names.setdefault(target, {_label_words(target), _label_words(label)})
        if re.search("[a-z]", key):
            named.add(_label_words(key))
    return names


def _label_problem(raw, mapping: Mapping, book: Codebook, labelled, mapped, meant, variables) -> InputError:
    var, (code, label) = mapping.variable, labelled

    def named(target: str) -> str:
        return f"'{target}' ({var.categories.get(target, variables.missing_codes.get(target, target))})"

    what = f"code '{code}' of '{mapping.column}' is labelled '{label}' in the file"
    if meant is not None:
        return InputError(
            f"{what}, but the codebook maps it to {named(mapped)}",
            file=raw.path,
            column=mapping.column,
            expected=f"codes that mean what their labels say: '{code}' → {meant}",
            hint=f"fix the codes of '{var.name}' in {book.path} (a wrong code would invert its tables)",
        )
    return InputError(
        f"{what}, which does not name {named(mapped)}, the category the codebook maps it to",
        file=raw.path,
        column=mapping.column,
        expected=f"the label of {named(mapped)}, or a label the codebook maps to it",
        hint=f"if '{label}' does mean {mapped}, add \"{label}\": {mapped} to the codes of '{var.name}' in"
        f" {book.path}; if it does not, the code is wrong",
    )


def _unknown(raw: RawTable, column: str, bad: pd.Series, what: str, accepted: list[str]) -> InputError:
    """One problem for every raw value of a column that matches no code: each value with its count, the first
    rows it is on."""
    counts = bad.value_counts(sort=True)
    # organisation and coded columns are neither identifying nor free text; a value that is no short code is
    # still described, not shown
    shown = ", ".join(f"{raw_value(v, private=False, show=repr)} in {n} row(s)" for v, n in list(counts.items())[:10])
    positions = raw.frame.index.isin(bad.index).nonzero()[0]
    listed = ", ".join(repr(k) for k in accepted[:12]) + (" ..." if len(accepted) > 12 else "")
    return InputError(
        f"{len(counts)} unknown {what}: {shown} (first rows {_rows(raw.source_rows[positions])})",
        file=raw.path,
        column=column,
        expected="one of " + listed + " or blank",
        hint="add the code to the codebook if it is a real answer, or fix the value in the export",
    )


def _rows(rows) -> str:
    rows = [int(r) for r in rows]
    return ", ".join(map(str, rows[:FIRST_ROWS])) + (" ..." if len(rows) > FIRST_ROWS else "")


# ------------------------------------------------------------------------------------------ at the start of a run


def check_waves(config: dict, root: str | Path = ".", cache: str | Path | None = None) -> list[WaveCheck]:
    """Check every wave, listing every problem of every wave at once (:class:`~survey_audit.errors.Problems`).
    With ``cache`` (a directory), a wave whose inputs have not changed since it last passed is not read again."""
    root = Path(root)
    sheet = load_wave_sheet(root / config["waves"], root)
    problems: list[SurveyAuditError] = []
    checks = []
    for wave, row in sheet.items():
        stamp = _stamp(config, row, root)
        marker = Path(cache) / f"{wave}.check.json" if cache is not None else None
        if marker is not None and marker.is_file() and json.loads(marker.read_text(encoding="utf-8")) == stamp:
            continue
        check = check_wave(config, wave, root)
        checks.append(check)
        problems += check.problems
        if marker is not None and not check.problems:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(json.dumps(stamp, sort_keys=True) + "\n", encoding="utf-8")
    if problems:
        raise Problems(problems, subject="the waves (survey-audit check-wave ID shows one wave's)")
    return checks


def _stamp(config: dict, row: Wave, root: Path) -> dict:
    """What a wave's check depends on: the raw file's size and modification time, and the content of its
    codebook, the variables, its sheet row and the cleaning configuration."""
    raw = (root / row.raw).stat()

    def digest(path: str | Path) -> str:
        return hashlib.sha256((root / path).read_bytes()).hexdigest()

    return {
        "raw": [raw.st_size, raw.st_mtime_ns],
        "codebook": digest(row.codebook),
        "variables": digest(config["variables"]),
        "row": row.__dict__,
        "cleaning": config["cleaning"],
    }
