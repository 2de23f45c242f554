"""Synthetic stand-in waves: reproducible raw exports shaped like the real ones, whose tables reproduce every
published number that has a value.

The respondent-level data of the surveys are confidential, so the pipeline runs out of the box on stand-ins.
A wave's spec (``config/synthetic/{wave}.yaml``) builds the analysed respondents in harmonised form, variable
by variable: exact counts where a published number must be reproduced (cohort splits included, through
``by``), stated assumptions elsewhere. The respondents are then written as the survey-platform export the
wave's codebook describes (coded values, question-text and import-id header rows, identifiers, metadata and
free text that ingest must drop), and documented defects are injected: test and preview responses, refused
consent, duplicates, partial completes, ineligible respondents, out-of-range and inconsistent answers, answers
to questions the routing skipped, stray case and whitespace. The defect manifest lists, row by row, what
cleaning must find.

Randomness comes from a PCG64 bit generator's raw 64-bit stream (stable across NumPy releases) and nothing
else, so regenerating a wave is byte-identical.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import formats
from ..config.codebook import Codebook, Mapping, load_codebook
from ..config.loading import load_validated, load_yaml
from ..config.variables import NO_ANSWER, NOT_ASKED, Variable, VariableSet, load_variables
from ..errors import ConfigError
from ..intake.cleaning import derive

# Qualtrics-style metadata columns, in the order the platform writes them.
PLATFORM_COLUMNS = [
    "StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished",
    "RecordedDate", "ResponseId", "RecipientLastName", "RecipientFirstName", "RecipientEmail",
    "ExternalReference", "LocationLatitude", "LocationLongitude", "DistributionChannel", "UserLanguage",
]  # fmt: skip
PLATFORM_TEXT = {
    "StartDate": "Start Date", "EndDate": "End Date", "Status": "Response Type", "IPAddress": "IP Address",
    "Progress": "Progress", "Duration (in seconds)": "Duration (in seconds)", "Finished": "Finished",
    "RecordedDate": "Recorded Date", "ResponseId": "Response ID", "RecipientLastName": "Recipient Last Name",
    "RecipientFirstName": "Recipient First Name", "RecipientEmail": "Recipient Email",
    "ExternalReference": "External Data Reference", "LocationLatitude": "Location Latitude",
    "LocationLongitude": "Location Longitude", "DistributionChannel": "Distribution Channel",
    "UserLanguage": "User Language",
}  # fmt: skip
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PHRASES = [
    "synthetic free text, written by the generator",
    "synthetic answer in the respondent's words",
    "synthetic comment that must never reach the results",
    "synthetic note about services that helped",
]
MISSING_GROUP = "missing"
DEFECT_COLUMNS = ["source_row", "defect", "rule", "variable", "raw_column", "action", "note"]


class Rng:
    """Random draws from PCG64's raw 64-bit output only, whose stream NumPy keeps stable across releases."""

    def __init__(self, seed: int) -> None:
        self._bits = np.random.PCG64(seed)

    def below(self, n: int) -> int:
        """A uniform integer in [0, n) (modulo bias below 2**-50 for the sizes used here)."""
        return int(self._bits.random_raw() % n)

    def uniform(self) -> float:
        return (int(self._bits.random_raw()) >> 11) / float(1 << 53)

    def permutation(self, items) -> list:
        out = list(items)
        for i in range(len(out) - 1, 0, -1):
            j = self.below(i + 1)
            out[i], out[j] = out[j], out[i]
        return out

    def sample(self, items, k: int) -> list:
        """k distinct items in their original order."""
        items = list(items)
        chosen = set(self.permutation(range(len(items)))[:k])
        return [item for index, item in enumerate(items) if index in chosen]

    def token(self, length: int) -> str:
        return "".join(ALPHABET[self.below(len(ALPHABET))] for _ in range(length))


@dataclass
class SyntheticWave:
    """A generated wave: the raw export's text, its defect manifest and the analysed respondents it encodes."""

    wave: str
    text: str
    bom: bool
    defects: pd.DataFrame
    respondents: pd.DataFrame
    summary: dict = field(default_factory=dict)

    def raw_bytes(self) -> bytes:
        return (b"\xef\xbb\xbf" if self.bom else b"") + self.text.encode("utf-8")


class _Spec:
    """A validated spec, with errors that name the spec file and the block."""

    def __init__(self, path: str | Path):
        self.doc = load_validated(path, "synthetic")
        self.path = Path(path)
        self.data = self.doc.data

    def fail(self, keys: tuple, problem: str, expected: str | None = None) -> ConfigError:
        return ConfigError(problem, file=self.path, row=self.doc.line_of(keys), expected=expected)


# --------------------------------------------------------------------------------------------- allocation


def largest_remainder(shares: dict[str, float], total: int) -> dict[str, int]:
    """Integer counts summing to ``total`` in proportion to ``shares`` (ties to the earlier key)."""
    weight = sum(shares.values())
    if total == 0 or weight <= 0:
        return {k: 0 for k in shares}
    exact = {k: v * total / weight for k, v in shares.items()}
    counts = {k: math.floor(v) for k, v in exact.items()}
    order = sorted(shares, key=lambda k: (-(exact[k] - counts[k]), list(shares).index(k)))
    for k in order[: total - sum(counts.values())]:
        counts[k] += 1
    return counts


def _option_count(value: float | int, size: int) -> int:
    if isinstance(value, bool):
        raise TypeError("a boolean is not a count")
    if isinstance(value, int):
        return value
    return int(math.floor(value * size + 0.5))


class _Builder:
    """Builds the analysed respondents of one wave in harmonised form."""

    def __init__(self, spec: _Spec, codebook: Codebook, variables: VariableSet, rng: Rng):
        self.spec = spec
        self.codebook = codebook
        self.variables = variables
        self.rng = rng
        self.n = spec.data["respondents"]
        self.raw_overrides: dict[tuple[str, int], str] = {}  # (variable, row) → raw text written instead
        self.texts: dict[str, set[int]] = {}
        self.frame = self._empty_frame()

    def _empty_frame(self) -> pd.DataFrame:
        columns: dict[str, Any] = {}
        reasons = list(self.variables.missing_reasons)
        for var in self.codebook.variables(self.variables):
            if var.type == "text":
                continue
            if var.is_multi:
                for column in var.value_columns:
                    columns[column] = pd.array([pd.NA] * self.n, dtype="boolean")
            elif var.type == "integer":
                columns[var.name] = pd.array([pd.NA] * self.n, dtype="Int64")
            else:
                columns[var.name] = pd.Categorical([None] * self.n, categories=list(var.categories))
            columns[var.missing_column] = pd.Categorical([NO_ANSWER] * self.n, categories=reasons)
        return pd.DataFrame(columns)

    # -- design ------------------------------------------------------------------------------------------------

    def assign_design(self) -> None:
        data = self.spec.data
        orgs = {str(k): v for k, v in data["organisations"].items()}
        unknown = set(orgs) - {o.code for o in self.codebook.organisations.values()}
        if unknown:
            raise self.spec.fail(
                ("organisations",),
                f"organisations {sorted(unknown)} are not in the codebook",
                "codes listed under organisation: codes in the wave's codebook",
            )
        if sum(orgs.values()) != self.n:
            raise self.spec.fail(
                ("organisations",),
                f"the organisations' respondents sum to {sum(orgs.values())}, not {self.n}",
                f"respondents per organisation summing to {self.n}",
            )
        labels = [code for code, count in orgs.items() for _ in range(count)]
        self.org = np.array(self.rng.permutation(labels), dtype=object)
        years = {int(k): v for k, v in data["survey_year"].items()}
        if sum(years.values()) != self.n:
            raise self.spec.fail(("survey_year",), f"the survey years sum to {sum(years.values())}, not {self.n}")
        year_labels = [year for year, count in years.items() for _ in range(count)]
        survey_year = self.variables["survey_year"]
        self.frame[survey_year.name] = pd.array(self.rng.permutation(year_labels), dtype="Int64")
        self.frame[survey_year.missing_column] = None

    # -- blocks ------------------------------------------------------------------------------------------------

    def asked(self, mapping: Mapping) -> np.ndarray:
        """Who the routing asks: the condition must hold (unknown counts as not asked)."""
        cond = mapping.ask_if
        if not cond:
            return np.ones(self.n, dtype=bool)
        source = self.codebook.mappings[cond["variable"]].variable
        if source.is_multi:
            return self.frame[source.option_column(cond["option"])].fillna(False).to_numpy(dtype=bool)
        return self.frame[source.name].isin(cond["in"]).to_numpy(dtype=bool)

    def groups(self, block: dict, keys: tuple, asked: np.ndarray) -> dict[str, np.ndarray]:
        """Positions of the asked respondents in each group of the block's by-variable (or one group)."""
        if "by" not in block:
            return {"": np.flatnonzero(asked)}
        by = block["by"]
        if by not in self.frame.columns:
            raise self.spec.fail(
                keys + ("by",),
                f"'{by}' is not a variable generated before this one",
                "a single-choice variable that comes earlier in the spec, or is derived from earlier ones",
            )
        labels = self.frame[by].astype(object).where(self.frame[by].notna(), MISSING_GROUP).to_numpy()
        groups = {}
        for label in [*self.variables[by].categories, MISSING_GROUP]:
            groups[label] = np.flatnonzero(asked & (labels == label))
        return groups

    def per_group(self, block: dict, key: str, group: str, keys: tuple) -> Any:
        value = block.get(key)
        if value is None or "by" not in block:
            return value
        return value.get(group) if isinstance(value, dict) else None

    def run(self) -> None:
        self.assign_design()
        blocks = self.spec.data["variables"]
        for name in self.codebook.mappings:
            if name not in blocks and name != "survey_year":
                raise self.spec.fail(
                    ("variables",),
                    f"the spec has no block for '{name}', which the codebook maps",
                    "a block for every variable the codebook maps (reproduces: or assumption:)",
                )
        for name, block in blocks.items():
            keys = ("variables", name)
            if name not in self.codebook.mappings:
                raise self.spec.fail(keys, f"'{name}' is not mapped by the wave's codebook", "a mapped variable")
            mapping = self.codebook.mappings[name]
            var = mapping.variable
            asked = self.asked(mapping)
            reasons = self.frame.get(var.missing_column)
            if reasons is not None:
                self.frame.loc[~asked, var.missing_column] = NOT_ASKED
            if var.type == "text":
                share = block.get("text_share", 0.0)
                self.texts[name] = {i for i in range(self.n) if self.rng.uniform() < share}
                continue
            for group, positions in self.groups(block, keys, asked).items():
                gkeys = keys + ((group,) if group else ())
                if var.is_multi:
                    self._multi(var, block, group, positions, gkeys)
                elif var.type == "integer":
                    self._integer(var, block, group, positions, gkeys)
                else:
                    self._categorical(var, block, group, positions, gkeys)
            self.frame = derive(self.frame, self.variables, self.codebook.carried)

    def _set(self, var: Variable, positions, value) -> None:
        positions = np.asarray(positions, dtype=int)
        if len(positions) == 0:
            return
        if value in self.variables.missing_reasons and value not in var.categories:
            self.frame.loc[positions, var.missing_column] = value
        else:
            self.frame.loc[positions, var.name] = value
            self.frame.loc[positions, var.missing_column] = None

    def _categorical(self, var: Variable, block: dict, group: str, positions: np.ndarray, keys: tuple) -> None:
        counts = self.per_group(block, "counts", group, keys)
        shares = self.per_group(block, "shares", group, keys)
        if counts is None and shares is None:
            if len(positions):
                raise self.spec.fail(
                    keys, f"no counts or shares for the {len(positions)} respondents of group '{group or 'all'}'"
                )
            return
        if counts is None:
            counts = largest_remainder(shares, len(positions))
        allowed = set(var.categories) | set(self.variables.missing_codes)
        unknown = set(counts) - allowed
        if unknown:
            raise self.spec.fail(
                keys,
                f"{sorted(unknown)} are not categories of '{var.name}' nor missing codes",
                "one of " + ", ".join(sorted(allowed)),
            )
        if sum(counts.values()) != len(positions):
            raise self.spec.fail(
                keys,
                f"the counts of '{var.name}' sum to {sum(counts.values())} but the group has "
                f"{len(positions)} respondents",
                f"counts summing to {len(positions)}",
            )
        order = self.rng.permutation(positions)
        start = 0
        for value, count in counts.items():
            self._set(var, order[start : start + count], value)
            start += count

    def _integer(self, var: Variable, block: dict, group: str, positions: np.ndarray, keys: tuple) -> None:
        pool = list(self.rng.permutation(positions))
        for reason, count in (self.per_group(block, "missing", group, keys) or {}).items():
            self._set(var, [pool.pop() for _ in range(count)], reason)
        out = block.get("out_of_range")
        if out and out.get("group", "") == group:
            for _ in range(out["count"]):
                row = pool.pop()
                self._set(var, [row], "out_of_range")
                self.raw_overrides[(var.name, row)] = str(out["value"])
        if block.get("inconsistent") and group == "":
            for _ in range(block["inconsistent"]):
                row = pool.pop()
                self._set(var, [row], "inconsistent")
                self.raw_overrides[(var.name, row)] = "inconsistent"  # resolved once the age is known
        if block.get("from_entry"):
            self._age_from_entry(var, pool)
            return
        values = self.per_group(block, "values", group, keys)
        ranges = self.per_group(block, "ranges", group, keys)
        relative = self.per_group(block, "years_before_survey", group, keys)
        spec = values or ranges or relative
        if spec is None:
            if pool:
                raise self.spec.fail(keys, f"no values for the {len(pool)} respondents of group '{group or 'all'}'")
            return
        if sum(spec.values()) != len(pool):
            raise self.spec.fail(
                keys,
                f"the values of '{var.name}' cover {sum(spec.values())} respondents but "
                f"{len(pool)} remain in group '{group or 'all'}'",
                f"counts summing to {len(pool)}",
            )
        survey_year = self.frame["survey_year"].to_numpy(dtype=float)
        for key, count in spec.items():
            rows, pool = pool[:count], pool[count:]
            for row in rows:
                if values is not None:
                    value = int(key)
                else:
                    low, high = (int(x) for x in str(key).split("-"))
                    if relative is not None:
                        value = int(survey_year[row]) - (low + self.rng.below(high - low + 1))
                    else:
                        high = min(high, int(survey_year[row]))
                        value = low + self.rng.below(high - low + 1)
                self.frame.loc[row, var.name] = value
                self.frame.loc[row, var.missing_column] = None

    def _age_from_entry(self, var: Variable, pool: list[int]) -> None:
        """Age at the survey from the age and year entered the life. Respondents too young for the valid range
        (entered recently at a young age) swap their age entered with an older entrant's, which keeps every
        count of the age entered and of the entry year exact."""
        frame = self.frame
        entered = frame["age_entered"].to_numpy(dtype=float, na_value=np.nan).copy()
        year = frame["year_entered"].to_numpy(dtype=float, na_value=np.nan)
        survey = frame["survey_year"].to_numpy(dtype=float)
        since = np.where(np.isnan(year), np.nan, survey - year)
        for row in pool:
            if np.isnan(since[row]):
                since[row] = 2 + self.rng.below(15)
        youngest = var.range[0] if var.range else 0
        need = youngest - since  # the smallest age entered that keeps this respondent in range
        for row in pool:
            if entered[row] >= need[row]:
                continue
            partners = [r for r in pool if entered[r] >= need[row] and entered[row] >= need[r]]
            if not partners:
                raise self.spec.fail(
                    ("variables", var.name),
                    f"no respondent can swap ages with one who entered the "
                    f"life {int(since[row])} year(s) before the survey at {int(entered[row])}",
                )
            partner = partners[self.rng.below(len(partners))]
            entered[row], entered[partner] = entered[partner], entered[row]
        frame["age_entered"] = pd.array(entered.astype(int), dtype="Int64")
        for row in pool:
            age = int(entered[row] + since[row]) + self.rng.below(2)
            frame.loc[row, var.name] = age
            frame.loc[row, var.missing_column] = None
            if self.raw_overrides.get(("year_entered", row)) == "inconsistent":
                birth = int(survey[row]) - age
                self.raw_overrides[("year_entered", row)] = str(birth - 2 - self.rng.below(4))

    def _multi(self, var: Variable, block: dict, group: str, positions: np.ndarray, keys: tuple) -> None:
        options = self.per_group(block, "options", group, keys)
        missing = self.per_group(block, "missing", group, keys) or {}
        pool = list(self.rng.permutation(positions))
        for reason, count in missing.items():
            self._set(var, [pool.pop() for _ in range(count)], reason)
        if options is None:
            if pool:
                raise self.spec.fail(keys, f"no options for the {len(pool)} respondents of group '{group or 'all'}'")
            return
        unknown = set(options) - set(var.categories)
        if unknown:
            raise self.spec.fail(
                keys, f"{sorted(unknown)} are not options of '{var.name}'", "one of " + ", ".join(var.categories)
            )
        chosen = {option: set() for option in var.categories}
        eligible = list(pool)
        exclusive = block.get("exclusive")
        if exclusive:
            count = _option_count(options.get(exclusive, 0), len(pool))
            chosen[exclusive] = set(self.rng.sample(pool, count))
            eligible = [row for row in pool if row not in chosen[exclusive]]
        for option, value in options.items():
            if option == exclusive:
                continue
            count = _option_count(value, len(pool))
            if count > len(eligible):
                raise self.spec.fail(
                    keys, f"option '{option}' asks for {count} respondents but only {len(eligible)} can choose it"
                )
            chosen[option] = set(self.rng.sample(eligible, count))
        fill = block.get("fill")
        for row in pool:
            if not any(row in rows for rows in chosen.values()):
                if not fill:
                    raise self.spec.fail(
                        keys, f"a respondent of group '{group or 'all'}' chose no option", "a 'fill' option"
                    )
                chosen[fill].add(row)
        rows = np.asarray(pool, dtype=int)
        for option in var.categories:
            flags = np.array([row in chosen[option] for row in pool], dtype=bool)
            if len(rows):
                self.frame.loc[rows, var.option_column(option)] = flags
        if len(rows):
            self.frame.loc[rows, var.missing_column] = None


# --------------------------------------------------------------------------------------------- raw export


class _Encoder:
    """Writes harmonised respondents as raw export rows, through the inverse of the codebook's code maps."""

    def __init__(self, codebook: Codebook, variables: VariableSet, rng: Rng):
        self.codebook = codebook
        self.variables = variables
        self.rng = rng
        raw = load_yaml(codebook.path).data
        self.raw_codes: dict[str, dict[str, str]] = {}
        for name, spec in raw["variables"].items():
            inverse: dict[str, str] = {}
            for code, target in [
                *spec.get("codes", {}).items(),
                *spec.get("missing", {}).items(),
                *raw.get("missing", {}).items(),
            ]:
                inverse.setdefault(str(target), str(code))
            self.raw_codes[name] = inverse
        self.columns = self._column_order()

    def _column_order(self) -> list[str]:
        expected = self.codebook.expected_columns
        platform = [c for c in PLATFORM_COLUMNS if c in expected]
        admin = [
            c
            for name, m in self.codebook.mappings.items()
            if m.variable.role == "admin"
            for c in m.raw_columns
            if c not in platform
        ]
        ids = [self.codebook.respondent_id, self.codebook.organisation_column]
        rest = [c for c in expected if c not in set(platform) | set(admin) | set(ids)]
        return platform + admin + ids + rest

    def question_text(self) -> dict[str, str]:
        text = {c: PLATFORM_TEXT.get(c, c) for c in self.columns}
        text[self.codebook.respondent_id] = "Participant code given by the organisation"
        text[self.codebook.organisation_column] = "Organisation"
        for mapping in self.codebook.mappings.values():
            var = mapping.variable
            if mapping.column is not None and mapping.column not in PLATFORM_COLUMNS:
                text[mapping.column] = var.label + (" - Selected Choice" if var.is_multi else "")
            for column, option in mapping.columns.items():
                text[column] = f"{var.label} - {var.categories[option]}"
        return text

    def import_ids(self) -> dict[str, str]:
        out = {}
        for index, column in enumerate(self.columns, start=1):
            if column in PLATFORM_COLUMNS:
                key = column[0].lower() + column[1:].replace(" ", "").replace("(inseconds)", "")
                out[column] = json.dumps({"ImportId": key}, separators=(",", ":"))
            else:
                out[column] = json.dumps({"ImportId": f"QID{index}"}, separators=(",", ":"))
        return out

    def code(self, name: str, target: str) -> str:
        try:
            return self.raw_codes[name][target]
        except KeyError:
            raise AssertionError(f"no raw code for {name} = {target}") from None

    def encode(self, frame: pd.DataFrame, row: int, texts: dict[str, set[int]], overrides: dict) -> dict[str, str]:
        """One respondent (a row of a harmonised frame) as raw values of the answer columns."""
        out: dict[str, str] = {}
        for name, mapping in self.codebook.mappings.items():
            var = mapping.variable
            if var.type == "text":
                out[mapping.column] = self._text(row) if row in texts.get(name, ()) else ""
                continue
            reason = frame.at[row, var.missing_column]
            override = overrides.get((name, row))
            if mapping.parse == "year":
                continue  # written by the platform's own date column (see metadata)
            if var.is_multi:
                chosen = [o for o in var.categories if _is_true(frame.at[row, var.option_column(o)])]
                if mapping.column is not None:
                    if reason is not None and not pd.isna(reason) and reason in self.variables.missing_codes:
                        out[mapping.column] = self.code(name, reason)
                    else:
                        out[mapping.column] = mapping.delimiter.join(self.code(name, o) for o in chosen)
                else:
                    for column, option in mapping.columns.items():
                        out[column] = "1" if option in chosen else ""
                continue
            value = frame.at[row, var.name]
            if override is not None:
                out[mapping.column] = override
            elif not pd.isna(value):
                if var.type == "integer":
                    out[mapping.column] = str(int(value))
                else:
                    out[mapping.column] = self.code(name, str(value))
            elif reason is not None and not pd.isna(reason) and reason in self.variables.missing_codes:
                out[mapping.column] = self.code(name, str(reason))
            else:
                out[mapping.column] = ""
        return out

    def _text(self, row: int) -> str:
        return f"{PHRASES[self.rng.below(len(PHRASES))]} ({self.rng.token(8)})"

    def metadata(self, year: int, *, status: str = "0", finished: bool = True, progress: int = 100) -> dict[str, str]:
        rng = self.rng
        start = pd.Timestamp(
            year=year,
            month=1 + rng.below(12),
            day=1 + rng.below(28),
            hour=8 + rng.below(12),
            minute=rng.below(60),
            second=rng.below(60),
        )
        duration = 300 + rng.below(2400)
        end = start + pd.Timedelta(seconds=duration)
        token = rng.token(10)
        return {
            "StartDate": start.strftime("%Y-%m-%d %H:%M:%S"),
            "EndDate": end.strftime("%Y-%m-%d %H:%M:%S"),
            "Status": status,
            "IPAddress": f"198.51.{100 + rng.below(100)}.{1 + rng.below(254)}",
            "Progress": str(progress),
            "Duration (in seconds)": str(duration),
            "Finished": "1" if finished else "0",
            "RecordedDate": end.strftime("%Y-%m-%d %H:%M:%S"),
            "ResponseId": "R_" + rng.token(15),
            "RecipientLastName": "Synlast" + token[:5].lower(),
            "RecipientFirstName": "Synfirst" + token[5:].lower(),
            "RecipientEmail": f"synthetic.{token.lower()}@example.org",
            "ExternalReference": "EXT-" + rng.token(8),
            "LocationLatitude": f"{30 + rng.below(15)}.{rng.below(10**6):06d}",
            "LocationLongitude": f"-{80 + rng.below(40)}.{rng.below(10**6):06d}",
            "DistributionChannel": "anonymous",
            "UserLanguage": "EN",
        }


# --------------------------------------------------------------------------------------------- defects


@dataclass
class _Row:
    """One row of the export before it is written, with what cleaning must say about it."""

    values: dict[str, str]
    kind: str = "respondent"
    rule: str = ""
    note: str = ""
    after: int | None = None  # index of a row this one must follow in the file
    cells: list[tuple[str, str, str, str, str]] = field(
        default_factory=list
    )  # (defect, rule, variable, column, action)


def generate(spec_path: str | Path, codebook_path: str | Path, variables: VariableSet) -> SyntheticWave:
    """Generate one synthetic wave from its spec, codebook and the harmonised variables as the wave sees them."""
    spec = _Spec(spec_path)
    codebook = load_codebook(codebook_path, variables, wave=spec.data["wave"])
    rng = Rng(spec.data["seed"])
    builder = _Builder(spec, codebook, variables, rng)
    builder.run()
    frame = builder.frame
    encoder = _Encoder(codebook, variables, rng)
    pid_column, org_column = codebook.respondent_id, codebook.organisation_column

    pids = _distinct_tokens(rng, builder.n * 2, "P")
    rows: list[_Row] = []
    for row in range(builder.n):
        values = encoder.metadata(int(frame.at[row, "survey_year"]))
        values.update(encoder.encode(frame, row, builder.texts, builder.raw_overrides))
        values[pid_column] = pids[row]
        values[org_column] = builder.org[row]
        rows.append(_Row(values))
        for (name, override_row), _ in builder.raw_overrides.items():
            if override_row == row:
                column = codebook.mappings[name].column
                rule = (
                    "out_of_range"
                    if frame.at[row, codebook.mappings[name].variable.missing_column] == "out_of_range"
                    else "entered_before_birth"
                )
                defect = "out_of_range" if rule == "out_of_range" else "inconsistent"
                rows[-1].cells.append((defect, rule, name, column, "set to missing"))
        for name, mapping in codebook.mappings.items():
            reason = frame.at[row, mapping.variable.missing_column] if mapping.variable.type != "text" else None
            if reason in variables.missing_codes and (name, row) not in builder.raw_overrides:
                rows[-1].cells.append(("missing_code", "", name, ",".join(mapping.raw_columns), f"kept as {reason}"))

    defects = spec.data["defects"]
    extra_pids = iter(pids[builder.n :])
    injector = _Injector(spec, codebook, variables, rng, frame, encoder, builder, rows, extra_pids)
    injector.inject(defects)

    order = _file_order(rng, rows)
    header_rows = 3
    text = _write(encoder, [rows[i].values for i in order], spec.data.get("file", {}).get("line_end", "lf"))
    manifest = []
    for position, index in enumerate(order):
        record = rows[index]
        source_row = position + header_rows + 1
        if record.kind != "respondent":
            manifest.append(
                {
                    "source_row": source_row,
                    "defect": record.kind,
                    "rule": record.rule,
                    "variable": "",
                    "raw_column": "",
                    "action": "excluded",
                    "note": record.note,
                }
            )
        for defect, rule, variable, column, action in record.cells:
            manifest.append(
                {
                    "source_row": source_row,
                    "defect": defect,
                    "rule": rule,
                    "variable": variable,
                    "raw_column": column,
                    "action": action,
                    "note": "",
                }
            )
    defect_frame = (
        pd.DataFrame(manifest, columns=DEFECT_COLUMNS)
        .sort_values(["source_row", "defect", "variable"], kind="stable")
        .reset_index(drop=True)
    )
    summary = {
        "wave": codebook.wave,
        "analysed_respondents": builder.n,
        "raw_rows": len(rows),
        "excluded": int(sum(r.kind != "respondent" for r in rows)),
    }
    analysed = frame.assign(org=builder.org)
    return SyntheticWave(
        codebook.wave, text, bool(spec.data.get("file", {}).get("bom", False)), defect_frame, analysed, summary
    )


def _is_true(value) -> bool:
    return value is not pd.NA and value is not None and bool(value)


def _distinct_tokens(rng: Rng, n: int, prefix: str) -> list[str]:
    seen: set[str] = set()
    out = []
    while len(out) < n:
        token = prefix + rng.token(6)
        if token not in seen:
            seen.add(token)
            out.append(token)
    return out


class _Injector:
    """Adds the spec's defects: extra rows cleaning must exclude, and cells it must set to missing or normalise."""

    def __init__(self, spec, codebook, variables, rng, frame, encoder, builder, rows, pids):
        self.spec = spec
        self.codebook = codebook
        self.variables = variables
        self.rng = rng
        self.frame = frame
        self.encoder = encoder
        self.builder = builder
        self.rows = rows
        self.pids = pids
        self.n = builder.n
        self.touched: set[int] = {row for (_, row) in builder.raw_overrides}

    def fresh_source(self) -> int:
        """An analysed respondent not yet used as a source of a defect and without injected cells."""
        candidates = [r for r in range(self.n) if r not in self.touched and not self.rows[r].cells]
        row = candidates[self.rng.below(len(candidates))]
        self.touched.add(row)
        return row

    def copy_row(self, source: int, *, pid: str | None = None, kind: str, rule: str, note: str = "", **meta) -> _Row:
        values = dict(self.rows[source].values)
        year = int(self.frame.at[source, "survey_year"])
        values.update(self.encoder.metadata(year, **meta))
        if pid is not None:
            values[self.codebook.respondent_id] = pid
        row = _Row(values, kind=kind, rule=rule, note=note)
        self.rows.append(row)
        return row

    def set_answer(self, row: _Row, name: str, value: str) -> None:
        row.values[self.codebook.mappings[name].column] = value

    def inject(self, defects: dict) -> None:
        survey_status = self.encoder.code
        for _ in range(defects.get("preview_responses", 0)):
            self.copy_row(
                self.fresh_source(),
                pid=next(self.pids),
                kind="preview_response",
                rule="test_responses",
                status="1",
                note="platform preview",
            )
        for _ in range(defects.get("test_responses", 0)):
            self.copy_row(
                self.fresh_source(),
                pid=next(self.pids),
                kind="test_response",
                rule="test_responses",
                status="2",
                note="platform test submission",
            )
        for _ in range(defects.get("no_consent", 0)):
            row = self.copy_row(
                self.fresh_source(),
                pid=next(self.pids),
                kind="no_consent",
                rule="consent",
                finished=False,
                progress=2,
                note="consent refused; the survey ended",
            )
            self._blank_answers(row, keep=set())
            self.set_answer(row, "consent", survey_status("consent", "no"))
        for _ in range(defects.get("duplicate_ids", 0)):
            source = self.fresh_source()
            row = self.copy_row(
                source,
                kind="duplicate_id",
                rule="duplicate_id",
                note="resubmitted under the same participant code, less complete",
            )
            answered = [c for c in self._answer_columns() if row.values.get(c)]
            for column in self.rng.sample(answered, 4):
                row.values[column] = ""
        for _ in range(defects.get("duplicate_answers", 0)):
            source = self.fresh_source()
            row = self.copy_row(
                source,
                pid=next(self.pids),
                kind="duplicate_answers",
                rule="duplicate_answers",
                note="the same answers submitted again under another participant code",
            )
            row.after = source
        for _ in range(defects.get("partial_completes", 0)):
            row = self.copy_row(
                self.fresh_source(),
                pid=next(self.pids),
                kind="partial_complete",
                rule="incomplete",
                finished=False,
                progress=20 + self.rng.below(20),
                note="left the survey early",
            )
            keep = {self.codebook.mappings[n].column for n in ("consent", "gender", "age_at_survey", "age_entered")}
            self._blank_answers(row, keep=keep)
        for _ in range(defects.get("ineligible", 0)):
            source = self.fresh_source()
            row = self.copy_row(
                source,
                pid=next(self.pids),
                kind="ineligible",
                rule="trafficked_as_minor",
                note="first trafficked at 18 or older",
            )
            self._shift_entry(row, source, 18 + self.rng.below(4))
        for _ in range(defects.get("entered_after_survey_age", 0)):
            source = self.fresh_source()
            row = self.copy_row(
                source,
                pid=next(self.pids),
                kind="entered_after_survey_age",
                rule="entered_after_survey_age",
                note="age entered above the age at the survey",
            )
            self.set_answer(row, "age_entered", "16")
            self.set_answer(row, "age_at_survey", "15")
            self.set_answer(row, "year_entered", str(int(self.frame.at[source, "survey_year"]) - 1))
        for column, count in defects.get("stray_text", {}).items():
            self._stray_text(column, count)
        for name, count in defects.get("skip_violations", {}).items():
            self._skip_violation(name, count)

    def _answer_columns(self) -> list[str]:
        return [
            c
            for name, m in self.codebook.mappings.items()
            if m.variable.role == "analysis" and m.variable.type != "text"
            for c in m.raw_columns
        ]

    def _blank_answers(self, row: _Row, keep: set[str]) -> None:
        for mapping in self.codebook.mappings.values():
            if mapping.variable.role == "admin":
                continue
            for column in mapping.raw_columns:
                if column not in keep:
                    row.values[column] = ""

    def _shift_entry(self, row: _Row, source: int, age_entered: int) -> None:
        frame = self.frame
        survey = int(frame.at[source, "survey_year"])
        since = 1 + self.rng.below(8)
        self.set_answer(row, "age_entered", str(age_entered))
        self.set_answer(row, "year_entered", str(survey - since))
        self.set_answer(row, "age_at_survey", str(age_entered + since + self.rng.below(2)))

    def _stray_text(self, column: str, count: int) -> None:
        name = next((n for n, m in self.codebook.mappings.items() if column in m.raw_columns), None)
        if name is None:
            raise self.spec.fail(
                ("defects", "stray_text"), f"'{column}' is not a mapped raw column", "a column of the codebook"
            )
        candidates = [r for r in range(self.n) if self.rows[r].values.get(column) and r not in self.touched]
        for row in self.rng.sample(candidates, count):
            self.touched.add(row)
            value = self.rows[row].values[column]
            variants = [f" {value}", f"{value} ", f" {value} "]
            if value.upper() != value.lower():
                variants += [value.upper() if value.upper() != value else value.lower(), f"{value.lower()} "]
            self.rows[row].values[column] = variants[self.rng.below(len(variants))]
            self.rows[row].cells.append(("stray_text", "normalise_text", name, column, "normalised"))

    def _skip_violation(self, name: str, count: int) -> None:
        mapping = self.codebook.mappings[name]
        if not mapping.ask_if:
            raise self.spec.fail(
                ("defects", "skip_violations"), f"'{name}' has no skip rule to violate", "a question with ask_if"
            )
        asked = self.builder.asked(mapping)
        source = mapping.ask_if["variable"]
        known = (
            self.frame[source].notna().to_numpy()
            if not self.codebook.mappings[source].variable.is_multi
            else self.frame[self.codebook.mappings[source].variable.option_column(mapping.ask_if["option"])]
            .notna()
            .to_numpy()
        )
        candidates = [r for r in range(self.n) if not asked[r] and known[r] and r not in self.touched]
        var = mapping.variable
        for row in self.rng.sample(candidates, count):
            self.touched.add(row)
            category = list(var.categories)[self.rng.below(len(var.categories))]
            self.rows[row].values[mapping.column] = self.encoder.code(name, category)
            self.rows[row].cells.append(("skip_violation", "skip_logic", name, mapping.column, "set to missing"))


def _file_order(rng: Rng, rows: list[_Row]) -> list[int]:
    """Shuffle the rows; a row that must follow another (a resubmission of the same answers) is moved after it."""
    order = rng.permutation(range(len(rows)))
    for index, row in enumerate(rows):
        if row.after is not None:
            here, source = order.index(index), order.index(row.after)
            if here < source:
                order.pop(here)
                order.insert(order.index(row.after) + 1, index)
    return order


def _write(encoder: _Encoder, values: list[dict[str, str]], line_end: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n" if line_end == "crlf" else "\n")
    columns = encoder.columns
    writer.writerow(columns)
    text = encoder.question_text()
    writer.writerow([text[c] for c in columns])
    ids = encoder.import_ids()
    writer.writerow([ids[c] for c in columns])
    for record in values:
        writer.writerow([record.get(c, "") for c in columns])
    return buffer.getvalue()


def synthesize_wave(*, spec: str, codebook: str, variables: str, raw_out: str, defects_out: str) -> None:
    """Stage function: generate one synthetic wave (``variables``: the wave's plan view) and write its raw export
    and defect manifest."""
    wave = generate(spec, codebook, load_variables(variables))
    with formats.atomic_path(raw_out) as tmp:
        tmp.write_bytes(wave.raw_bytes())
    formats.write_csv(wave.defects, defects_out)
