"""The audit of published numbers: the registry of what the reports printed, verdicts against the recomputed
tables, and the checks a reviewer can run without any data.

Verdicts: ``reproduced`` (the recomputed value, rounded as printed, equals the printed value), ``differs``,
``holds`` / ``fails`` (a qualitative claim in its checkable form), ``not computable`` (no table cell can
reproduce it), ``not transcribed`` (the value is not public or not yet entered in the registry).

Data-free checks: the percentage form of GRIM (a printed percentage must be k/n for an integer k, for its
printed or recomputed base n, under either rounding convention), sums (the printed shares of one single-choice
question must add up to 100 within rounding), and the statcheck rule (a printed test statistic must match its
printed p-value and degrees of freedom).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
from scipy import stats

from . import formats
from .configuration import load_validated
from .errors import ConfigError

ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}
VALUE_CLAIMS = {"percentage", "one_in", "count", "mean"}
QUALITATIVE_CLAIMS = {"majority", "range", "largest", "top", "association", "trend"}

REPRODUCED = "reproduced"
DIFFERS = "differs"
HOLDS = "holds"
FAILS = "fails"
NOT_COMPUTABLE = "not computable"
NOT_TRANSCRIBED = "not transcribed"
VERDICTS = [REPRODUCED, HOLDS, DIFFERS, FAILS, NOT_COMPUTABLE, NOT_TRANSCRIBED]

AUDIT_COLUMNS = [
    "entry_id",
    "report",
    "wave",
    "section",
    "figure",
    "wording",
    "base",
    "category",
    "printed",
    "claim",
    "reliability",
    "table_id",
    "cell",
    "recomputed",
    "recomputed_display",
    "recomputed_as_printed",
    "difference",
    "verdict",
    "checks",
    "note",
]


@dataclass(frozen=True)
class Registry:
    """One report's registry of printed numbers."""

    path: Path
    report: str
    title: str
    wave: str
    version: int
    entries: tuple[dict, ...]
    meta: dict = field(default_factory=dict)
    lines: dict = field(default_factory=dict, repr=False, compare=False)

    def row_of(self, index: int, key: str | None = None) -> int | None:
        """Line of an entry (or of one of its keys) in the registry file."""
        keys = ("entries", index) + ((key,) if key else ())
        while keys not in self.lines and len(keys) > 2:
            keys = keys[:-1]
        return self.lines.get(keys)


def load_registry(path: str | Path) -> Registry:
    """Read and check one registry file."""
    doc = load_validated(path, "registry")
    data = doc.data
    seen: set[str] = set()
    for index, entry in enumerate(data["entries"]):
        keys = ("entries", index)

        def fail(problem: str, expected: str, key: str | None = None, entry: dict = entry, keys: tuple = keys) -> None:
            raise ConfigError(
                f"entry '{entry['id']}' {problem}",
                file=path,
                row=doc.line_of(keys + ((key,) if key else ())),
                expected=expected,
            )

        if entry["id"] in seen:
            fail("is listed twice", "unique entry ids", "id")
        seen.add(entry["id"])
        claim = entry["claim"]
        kind = claim["type"]
        if kind in VALUE_CLAIMS | QUALITATIVE_CLAIMS - {"association", "trend"} and "cell" not in entry:
            fail(
                f"claims '{kind}' but names no table cell to check it against",
                "a 'cell' with table, wave and category",
                "claim",
            )
        if (
            kind in ("percentage", "largest", "top", "majority", "range", "count", "mean", "one_in")
            and "cell" in entry
            and kind not in ("top", "mean")
            and "category" not in entry["cell"]
        ):
            fail("names a cell without a category", "cell: {table, wave, category}", "cell")
        if kind == "range" and ("low" not in claim or "high" not in claim):
            fail("claims a range without its bounds", "low and high (percent)", "claim")
        if kind == "top" and not claim.get("categories"):
            fail("claims the top categories without listing them", "categories: [...]", "claim")
        if kind in ("association", "trend") and "test" not in claim:
            fail(f"claims an {kind} without naming its test", "test: a test id of results/tests.csv", "claim")
        if kind == "association" and ("higher" not in claim or "lower" not in claim or "cell" not in entry):
            fail("claims an association without the direction to check", "higher, lower and a cell", "claim")
        if kind == "statistic":
            missing = [k for k in ("distribution", "df1", "statistic_printed", "p_printed") if k not in claim]
            if missing:
                fail(
                    f"claims a test statistic without {', '.join(missing)}",
                    "distribution, df1, statistic_printed, p_printed",
                    "claim",
                )
    for index, entry in enumerate(data["entries"]):
        for other in entry.get("conflicts_with", []):
            if other not in seen:
                raise ConfigError(
                    f"entry '{entry['id']}' conflicts with '{other}', which is not in this registry",
                    file=path,
                    row=doc.line_of(("entries", index, "conflicts_with")),
                    expected="ids of entries in the same registry",
                )
    meta = {k: v for k, v in data.items() if k != "entries"}
    return Registry(
        Path(path),
        data["report"],
        data["title"],
        data["wave"],
        data["registry_version"],
        tuple(data["entries"]),
        meta,
        lines=doc.lines,
    )


# --------------------------------------------------------------------------------------------- rounding


def round_decimal(value: Fraction | float, decimals: int, convention: str) -> Decimal:
    """Round under a named convention (half_up or half_even). A Fraction (an unweighted k/n) is rounded
    exactly, so a tie such as 62.5 is recognised as one; a float is rounded from its shortest decimal form."""
    quantum = Decimal(1).scaleb(-decimals)
    if not isinstance(value, Fraction):
        return Decimal(repr(float(value))).quantize(quantum, rounding=ROUNDING[convention])
    scaled = value * 10**decimals
    floor = math.floor(scaled)
    remainder = scaled - floor
    if remainder != Fraction(1, 2):
        result = floor + (remainder > Fraction(1, 2))
    elif convention == "half_up":
        result = floor + 1
    else:
        result = floor + (floor % 2)
    return (Decimal(result) * quantum).quantize(quantum)


def rounds_to(value: Fraction | float, printed: float, decimals: int, conventions: tuple[str, ...]) -> bool:
    """Whether ``value`` rounds to ``printed`` at ``decimals`` under any of the conventions."""
    target = Decimal(repr(float(printed))).quantize(Decimal(1).scaleb(-decimals))
    return any(round_decimal(value, decimals, c) == target for c in conventions)


# --------------------------------------------------------------------------------------------- data-free checks


def grim_percentage(
    printed: float, decimals: int, n: int, conventions: tuple[str, ...] = ("half_up", "half_even")
) -> list[int]:
    """Every k in 0..n for which 100·k/n rounds to the printed percentage (empty: inconsistent with n)."""
    if n <= 0:
        return []
    centre = printed * n / 100
    candidates = range(max(0, math.floor(centre) - 2), min(n, math.ceil(centre) + 2) + 1)
    return [k for k in candidates if rounds_to(Fraction(100 * k, n), printed, decimals, conventions)]


def sum_check(values: list[float], decimals: int, complete: bool) -> tuple[bool, str]:
    """Printed shares of one question must sum to 100 within the rounding of k cells (k·0.5 units of the last
    printed digit); an incomplete set must not exceed that upper bound."""
    total = sum(values)
    tolerance = len(values) * 0.5 * 10 ** (-decimals)
    if complete:
        ok = abs(total - 100) <= tolerance + 1e-9
        return ok, f"sum {total:g} (100 ± {tolerance:g})"
    ok = total <= 100 + tolerance + 1e-9
    return ok, f"sum {total:g} (at most 100 + {tolerance:g}, not every category printed)"


_P_PRINTED = re.compile(r"^\s*(p\s*)?(?P<op>[<>=≤]?)\s*(?P<num>0?\.\d+|\d+(\.\d+)?(e-?\d+)?)\s*$", re.IGNORECASE)


def statcheck(
    distribution: str, statistic_printed: str, df1: float, df2: float | None, p_printed: str
) -> tuple[bool, str]:
    """Whether a printed p-value is consistent with its printed statistic and df, allowing for the rounding
    of the statistic (the statcheck rule). Returns (consistent, explanation)."""
    text = statistic_printed.strip()
    value = float(text)
    decimals = len(text.split(".")[1]) if "." in text else 0
    half = 0.5 * 10 ** (-decimals)
    low_stat, high_stat = max(value - half, 0.0), value + half

    def sf(x: float) -> float:
        if distribution == "F":
            return float(stats.f.sf(x, df1, df2))
        if distribution == "chisq":
            return float(stats.chi2.sf(x, df1))
        if distribution == "t":
            return float(2 * stats.t.sf(abs(x), df1))
        return float(2 * stats.norm.sf(abs(x)))

    p_high, p_low = sf(low_stat), sf(high_stat)
    match = _P_PRINTED.match(p_printed)
    if not match:
        raise ConfigError(
            "the printed p-value cannot be read", value=p_printed, expected="e.g. '= .022', '< .05' or '.13'"
        )
    op = match.group("op") or "="
    number = match.group("num")
    p = float(number)
    if op in ("<", "≤"):
        ok = p_low < p
    elif op == ">":
        ok = p_high > p
    else:
        p_decimals = len(number.split(".")[1]) if "." in number else 0
        p_half = 0.5 * 10 ** (-p_decimals)
        ok = p_low <= p + p_half and p_high >= p - p_half
    return ok, f"p from the statistic's rounding interval: {p_low:.4g}–{p_high:.4g}; printed {op} {number}"


# --------------------------------------------------------------------------------------------- verdicts


def _cell_rows(cells: pd.DataFrame, cell: dict) -> pd.DataFrame:
    selected = cells[
        (cells["table_id"] == cell["table"])
        & (cells["wave"] == cell["wave"])
        & (cells["by_value"] == cell.get("by_value", "all"))
        & (cells["weighting"] == cell.get("weighting", "unweighted"))
    ]
    return selected


def _percentage(row: pd.Series) -> Fraction | float:
    """A cell's percentage: exact for unweighted cells (100·n/base), else the stored float."""
    if row["weighting"] == "unweighted" and int(row["base_n"]) > 0:
        return Fraction(100 * int(row["n"]), int(row["base_n"]))
    return float(row["pct"])


def _fmt(value: float | Fraction | None, digits: int = 2) -> str:
    if value is None:
        return ""
    return f"{float(value):.{digits}f}"


def as_printed(entry: dict, recomputed: float | None) -> str:
    """A recomputed value in the form and precision the report printed it (rounded half up)."""
    if recomputed is None or (isinstance(recomputed, float) and math.isnan(recomputed)):
        return ""
    kind = entry["claim"]["type"]
    decimals = entry.get("decimals", 0)
    if kind == "percentage":
        return f"{round_decimal(float(recomputed), decimals, 'half_up')}%"
    if kind == "one_in":
        return f"1 in {round_decimal(100 / float(recomputed), 0, 'half_up')}" if recomputed else ""
    if kind == "count":
        return str(int(recomputed))
    if kind == "mean":
        return str(round_decimal(float(recomputed), decimals, "half_up"))
    if kind in ("majority", "range", "largest"):
        return f"{round_decimal(float(recomputed), 0, 'half_up')}%"
    return ""


def audit_entry(
    entry: dict, registry: Registry, cells: pd.DataFrame, tests: pd.DataFrame, conventions: tuple[str, ...]
) -> dict:
    """The audit row of one registry entry."""
    claim = entry["claim"]
    kind = claim["type"]
    cell = entry.get("cell")
    row: dict[str, Any] = {
        "entry_id": entry["id"],
        "report": registry.report,
        "wave": cell["wave"] if cell else registry.wave,
        "section": entry["section"],
        "figure": entry["figure"],
        "wording": entry["wording"],
        "base": entry["base"],
        "category": entry.get("category", ""),
        "printed": entry.get("printed") or "",
        "claim": _claim_text(entry),
        "reliability": entry["reliability"],
        "table_id": cell["table"] if cell else claim.get("test", ""),
        "cell": _cell_text(cell) if cell else "",
        "recomputed": None,
        "recomputed_display": "",
        "recomputed_as_printed": "",
        "difference": None,
        "verdict": NOT_COMPUTABLE,
        "checks": "",
        "note": entry.get("note", ""),
    }
    notes = [row["note"]] if row["note"] else []
    if entry["reliability"] == "disputed" and entry.get("conflicts_with"):
        notes.append("disputed: conflicts with " + ", ".join(entry["conflicts_with"]))
    checks = data_free_checks(entry, None)

    if kind in VALUE_CLAIMS and entry["value"] is None:
        row["verdict"] = NOT_TRANSCRIBED
        notes.append("value not public or not yet transcribed")
    elif kind == "statistic":
        ok, text = statcheck(
            claim["distribution"], claim["statistic_printed"], claim["df1"], claim.get("df2"), claim["p_printed"]
        )
        row["verdict"] = HOLDS if ok else FAILS
        notes.append("statcheck: " + text)
    else:
        verdict, recomputed, display, difference, extra, base_n = _recompute(entry, cells, tests, conventions)
        row.update(verdict=verdict, recomputed=recomputed, recomputed_display=display, difference=difference)
        row["recomputed_as_printed"] = as_printed(entry, recomputed)
        notes.extend(extra)
        if base_n is not None:
            checks = data_free_checks(entry, base_n)
    row["checks"] = "; ".join(checks)
    row["note"] = "; ".join(n.rstrip(".") for n in notes if n)
    return row


def data_free_checks(entry: dict, recomputed_base: int | None) -> list[str]:
    """GRIM on a printed whole-number or decimal percentage, against its printed base and the recomputed one."""
    out = []
    if entry["claim"]["type"] != "percentage" or entry["value"] is None:
        return out
    decimals = entry.get("decimals", 0)
    for label, n in (("printed base", entry.get("base_n")), ("recomputed base", recomputed_base)):
        if n:
            ks = grim_percentage(entry["value"], decimals, int(n))
            out.append(
                f"GRIM vs {label} {n}: " + (f"consistent (k = {', '.join(map(str, ks))})" if ks else "INCONSISTENT")
            )
    return out


def _recompute(entry, cells, tests, conventions):
    claim = entry["claim"]
    kind = claim["type"]
    cell = entry.get("cell")
    if kind in ("association", "trend"):
        return _recompute_test(entry, cells, tests)
    rows = _cell_rows(cells, cell)
    if rows.empty:
        return NOT_COMPUTABLE, None, "", None, [f"no table cell {_cell_text(cell)}"], None
    if kind == "top":
        ranked = rows.sort_values(["pct", "category"], ascending=[False, True])
        top = list(ranked["category"][: len(claim["categories"])])
        ok = set(top) == set(claim["categories"])
        return (HOLDS if ok else FAILS), None, "most common: " + ", ".join(top), None, [], None
    match = rows[rows["category"] == cell["category"]]
    if match.empty:
        return NOT_COMPUTABLE, None, "", None, [f"no category '{cell['category']}' in {_cell_text(cell)}"], None
    cell_row = match.iloc[0]
    base_n = int(cell_row["base_n"])
    if base_n == 0 and kind not in ("count", "mean"):
        return NOT_COMPUTABLE, None, "", None, ["the cell's base is empty"], None
    if kind == "count":
        value = int(cell_row["n"])
        ok = value == entry["value"]
        return (REPRODUCED if ok else DIFFERS), float(value), str(value), float(value - entry["value"]), [], None
    if kind == "mean":
        value = float(cell_row["mean"])
        decimals = entry.get("decimals", 0)
        accept = claim.get("accept") or [entry["value"]]
        ok = any(rounds_to(value, a, decimals, conventions) for a in accept)
        return (REPRODUCED if ok else DIFFERS), value, _fmt(value), value - entry["value"], [], None
    pct = _percentage(cell_row)
    display = (
        f"{_fmt(pct)}% ({int(cell_row['n'])}/{base_n})" if cell_row["weighting"] == "unweighted" else f"{_fmt(pct)}%"
    )
    if kind == "percentage":
        ok = rounds_to(pct, entry["value"], entry.get("decimals", 0), conventions)
        return (REPRODUCED if ok else DIFFERS), float(pct), display, float(pct) - entry["value"], [], base_n
    if kind == "one_in":
        ratio = Fraction(100, 1) / pct if isinstance(pct, Fraction) else 100.0 / pct
        ok = rounds_to(ratio, entry["value"], 0, conventions)
        return (
            (REPRODUCED if ok else DIFFERS),
            float(pct),
            f"1 in {float(ratio):.2f} ({display})",
            float(ratio) - entry["value"],
            [],
            None,
        )
    if kind == "majority":
        return (HOLDS if pct > 50 else FAILS), float(pct), display, None, ["majority: above 50%"], None
    if kind == "range":
        ok = claim["low"] <= pct < claim["high"]
        return (
            (HOLDS if ok else FAILS),
            float(pct),
            display,
            None,
            [f"read as {claim['low']:g}% ≤ share < {claim['high']:g}%"],
            None,
        )
    if kind == "largest":
        others = rows[rows["category"] != cell["category"]]
        ok = bool((others["pct"] <= float(pct)).all())
        return (HOLDS if ok else FAILS), float(pct), display, None, ["largest category of its table"], None
    raise AssertionError(kind)


def _recompute_test(entry, cells, tests):
    claim = entry["claim"]
    alpha = claim.get("alpha", 0.05)
    test = tests[tests["test_id"] == claim["test"]] if len(tests) else tests
    if test.empty:
        return NOT_COMPUTABLE, None, "", None, [f"no test '{claim['test']}' in results/tests.csv"], None
    test = test.iloc[0]
    p = float(test["p_adjusted"]) if not pd.isna(test.get("p_adjusted")) else float(test["p"])
    significant = p < alpha
    notes = [f"{test['method']}: p = {p:.3g}" + (" (adjusted)" if not pd.isna(test.get("p_adjusted")) else "")]
    if claim["type"] == "trend":
        direction = str(test.get("direction", ""))
        ok = significant and direction == claim.get("direction", "increasing")
        notes.append(f"direction: {direction or 'unknown'}")
        return (HOLDS if ok else FAILS), p, f"p = {p:.3g}", None, notes, None
    cell = entry["cell"]
    high = _cell_rows(cells, {**cell, "by_value": claim["higher"]})
    low = _cell_rows(cells, {**cell, "by_value": claim["lower"]})
    high = high[high["category"] == cell["category"]]
    low = low[low["category"] == cell["category"]]
    if high.empty or low.empty:
        return NOT_COMPUTABLE, p, "", None, notes + ["the cells to compare are missing"], None
    hp, lp = float(high.iloc[0]["pct"]), float(low.iloc[0]["pct"])
    ok = significant and hp > lp
    notes.append(f"{claim['higher']} {hp:.1f}% vs {claim['lower']} {lp:.1f}%")
    return (HOLDS if ok else FAILS), p, f"p = {p:.3g}", None, notes, None


def _cell_text(cell: dict | None) -> str:
    if not cell:
        return ""
    parts = [cell["table"], cell["wave"]]
    if cell.get("by_value", "all") != "all":
        parts.append(cell["by_value"])
    if cell.get("category"):
        parts.append(cell["category"])
    if cell.get("weighting", "unweighted") != "unweighted":
        parts.append(cell["weighting"])
    return "/".join(parts)


def _claim_text(entry: dict) -> str:
    claim = entry["claim"]
    kind = claim["type"]
    if kind == "range":
        return f"range [{claim['low']:g}, {claim['high']:g})"
    if kind == "top":
        return "top: " + ", ".join(claim["categories"])
    return kind


def audit(
    registries: list[Registry], cells: pd.DataFrame, tests: pd.DataFrame, conventions: tuple[str, ...]
) -> pd.DataFrame:
    """Audit rows for every entry of every registry, with the group sums checked."""
    rows = [audit_entry(e, r, cells, tests, conventions) for r in registries for e in r.entries]
    frame = pd.DataFrame(rows, columns=AUDIT_COLUMNS)
    for registry in registries:
        for group, text in group_sum_checks(registry).items():
            for entry in registry.entries:
                if entry.get("group") == group:
                    mask = frame["entry_id"] == entry["id"]
                    current = frame.loc[mask, "checks"].iloc[0]
                    frame.loc[mask, "checks"] = (current + "; " if current else "") + text
    return frame


def group_sum_checks(registry: Registry) -> dict[str, str]:
    groups: dict[str, list[dict]] = {}
    for entry in registry.entries:
        if entry.get("group") and entry["value"] is not None and entry["claim"]["type"] == "percentage":
            groups.setdefault(entry["group"], []).append(entry)
    out = {}
    for group, entries in groups.items():
        decimals = max(e.get("decimals", 0) for e in entries)
        complete = any(e.get("group_complete", False) for e in entries)
        ok, text = sum_check([e["value"] for e in entries], decimals, complete)
        out[group] = f"sum check {'ok' if ok else 'FAILS'}: {text}"
    return out


def summary_text(frame: pd.DataFrame, synthetic: bool) -> str:
    """The audit summary printed at the end of every run."""
    lines = ["Audit of published numbers", "=" * 26]
    if synthetic:
        lines.append("DATA ARE SYNTHETIC: these verdicts check the pipeline, not the report.")
    for report, part in frame.groupby("report", sort=True):
        counts = part["verdict"].value_counts()
        tally = ", ".join(f"{counts[v]} {v}" for v in VERDICTS if v in counts)
        lines.append(f"{report}: {len(part)} entries: {tally}")
    lines.append("")
    lines.append(f"{'entry':<40} {'printed':<14} {'recomputed':<12} {'difference':>10}  verdict")
    shown = frame[frame["verdict"] != NOT_TRANSCRIBED]
    for r in shown.itertuples(index=False):
        difference = "" if r.difference is None or pd.isna(r.difference) else f"{float(r.difference):+.2f}"
        recomputed = r.recomputed_as_printed or (
            "p = " + r.recomputed_display.split("p = ")[-1]
            if "p = " in str(r.recomputed_display)
            else r.recomputed_display
        )
        printed = (r.printed or "(claim)")[:14]
        lines.append(
            f"{r.entry_id:<40} {printed:<14} {str(recomputed)[:12]:<12} {difference:>10}  {r.verdict}"
            + (f" [{r.reliability}]" if r.reliability != "primary" else "")
        )
    hidden = frame[frame["verdict"] == NOT_TRANSCRIBED]
    if len(hidden):
        figures = ", ".join(f"{f} ({n})" for f, n in hidden.groupby("figure", sort=True).size().items())
        lines.append(f"not transcribed (value not public): {figures}")
    flagged = frame[frame["verdict"].isin([DIFFERS, FAILS, NOT_COMPUTABLE])]
    if len(flagged):
        lines.append("")
        lines.append("Entries that do not reproduce:")
        for r in flagged.itertuples(index=False):
            lines.append(
                f"  {r.entry_id} [{r.reliability}] printed {r.printed or '(qualitative)'}, "
                f"recomputed {r.recomputed_display or 'n/a'}: {r.verdict}" + (f" ({r.note})" if r.note else "")
            )
    inconsistent = frame[frame["checks"].str.contains("INCONSISTENT|FAILS", regex=True, na=False)]
    if len(inconsistent):
        lines.append("")
        lines.append("Internal-consistency checks that fail:")
        for r in inconsistent.itertuples(index=False):
            lines.append(f"  {r.entry_id}: {r.checks}")
    lines.append("")
    lines.append("Details: results/audit/published.csv")
    return "\n".join(lines) + "\n"


def audit_tables(
    *,
    tables: list[str],
    tests: str,
    registries: list[str],
    synthetic: bool,
    conventions: list[str],
    audit_out: str,
    summary_out: str,
) -> None:
    """Published tables and tests → a verdict per registry entry, and the summary printed after a run."""
    cells = pd.concat(
        [
            pd.read_csv(
                p,
                dtype={"by_value": str, "category": str},
                keep_default_na=False,
                na_values={"pct": [""], "mean": [""]},
            )
            for p in tables
        ],
        ignore_index=True,
    )
    tests_frame = pd.read_csv(tests)
    loaded = [load_registry(p) for p in registries]
    frame = audit(loaded, cells, tests_frame, tuple(conventions))
    frame = frame.sort_values(["report", "entry_id"], kind="stable").reset_index(drop=True)
    formats.write_csv(frame, audit_out)
    formats.write_text(summary_text(frame, synthetic), summary_out)


def check_registry_cells(registry: Registry, specs: list, variables, waves: list[str]) -> None:
    """Every cell and test a registry entry names must exist among the declared tables, so that a typo is
    reported when the workflow starts rather than as a 'not computable' verdict."""
    by_id = {spec.id: spec for spec in specs}
    for index, entry in enumerate(registry.entries):
        cell = entry.get("cell")
        claim = entry["claim"]

        def fail(problem: str, expected: str, entry: dict = entry, index: int = index) -> None:
            raise ConfigError(
                f"entry '{entry['id']}' {problem}",
                file=registry.path,
                row=registry.row_of(index, "cell"),
                expected=expected,
            )

        if claim.get("test"):
            table = claim["test"].split(":")[0]
            if table not in by_id:
                fail(
                    f"names the test '{claim['test']}' of an undeclared table '{table}'",
                    "a test id '{table}:{wave}[...]'",
                )
        if not cell:
            continue
        spec = by_id.get(cell["table"])
        if spec is None:
            fail(f"names the undeclared table '{cell['table']}'", "a table id of config/tables/")
        if cell["wave"] not in spec.waves:
            fail(f"names wave '{cell['wave']}' of table '{spec.id}'", "one of " + ", ".join(spec.waves))
        if spec.kind == "sample":
            categories = ["respondents", "organisations", "states", "regions"]
        elif spec.kind == "mean":
            categories = ["mean"]
        else:
            categories = list(variables[spec.variable].categories)
        if "category" in cell and cell["category"] not in categories:
            fail(f"names category '{cell['category']}' of table '{spec.id}'", "one of " + ", ".join(categories))
        by_value = cell.get("by_value", "all")
        by_values = list(variables[spec.by].categories) if spec.by else ["all"]
        for side in ("higher", "lower"):
            if side in claim and claim[side] not in by_values:
                fail(f"compares by-value '{claim[side]}' of table '{spec.id}'", "one of " + ", ".join(by_values))
        if claim["type"] != "association" and by_value not in by_values:
            fail(f"names by-value '{by_value}' of table '{spec.id}'", "one of " + ", ".join(by_values))
        for category in claim.get("categories", []):
            if category not in categories:
                fail(f"lists category '{category}' of table '{spec.id}'", "one of " + ", ".join(categories))


def check_published(registry: Registry, conventions: tuple[str, ...] = ("half_up", "half_even")) -> pd.DataFrame:
    """The checks a reviewer can run on a registry alone, without any data: GRIM on each printed percentage
    with a printed base, the sums of each question's printed shares, and the statcheck rule on each printed
    test statistic. One row per check: entry (or group), check, ok, detail."""
    rows = []
    for entry in registry.entries:
        claim = entry["claim"]
        if claim["type"] == "percentage" and entry["value"] is not None and entry.get("base_n"):
            ks = grim_percentage(entry["value"], entry.get("decimals", 0), int(entry["base_n"]), conventions)
            rows.append(
                {
                    "entry": entry["id"],
                    "check": "GRIM",
                    "ok": bool(ks),
                    "detail": f"{entry['printed']} of {entry['base_n']}: "
                    + (f"k = {', '.join(map(str, ks))}" if ks else "no whole number of respondents gives it"),
                }
            )
        if claim["type"] == "statistic":
            ok, text = statcheck(
                claim["distribution"], claim["statistic_printed"], claim["df1"], claim.get("df2"), claim["p_printed"]
            )
            rows.append({"entry": entry["id"], "check": "statcheck", "ok": ok, "detail": text})
    for group, text in group_sum_checks(registry).items():
        rows.append({"entry": group, "check": "sum", "ok": text.startswith("sum check ok"), "detail": text})
    return pd.DataFrame(rows, columns=["entry", "check", "ok", "detail"])
