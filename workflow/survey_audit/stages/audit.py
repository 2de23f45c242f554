"""The audit stage: a verdict for every number the reports printed, against the recomputed tables and tests.

Verdicts: ``reproduced`` (the recomputed value, rounded as printed, equals the printed value), ``differs``,
``holds`` / ``fails`` (a qualitative claim in its checkable form), ``not computable`` (no table cell can
reproduce it), ``not transcribed`` (the value is not public or not yet entered in the registry).

Data-free checks: the percentage form of GRIM (a printed percentage must be k/n for an integer k, for its
printed or recomputed base n, under either rounding convention; a failure names the nearest percentages that
base can give), the joint counts of a question's printed shares with their printed base (one whole count per
share, summing to the base: the unique vector, the first few, or none), sums (the printed shares of one
single-choice question must add up to 100 within rounding), and the statcheck rule (a printed test statistic
must match its printed p-value and degrees of freedom; a failure names the p and the df that would fit).

An entry without a table cell is data-free: only these checks apply to it, and its verdict is "not computable".
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import pandas as pd

from .. import formats
from ..config.registry import (
    DIFFERS,
    FAILS,
    HOLDS,
    NOT_COMPUTABLE,
    NOT_TRANSCRIBED,
    REPRODUCED,
    VALUE_CLAIMS,
    VERDICTS,
    Registry,
    is_model_test,
    load_registry,
)
from ..stats.consistency import (
    consecutive_runs,
    exact_percent,
    joint_counts,
    nearest_feasible,
    round_decimal,
    rounds_to,
    rule_needed,
    share_counts,
    statcheck,
    statcheck_fits,
    sum_check,
)
from .conventions import flag_labels

AUDIT_COLUMNS = [
    "entry_id",
    "report",
    "wave",
    "section",
    "figure",
    "wording",
    "base",
    "category",
    "reliability",
    "claim",
    "printed",
    "recomputed",
    "recomputed_display",
    "recomputed_as_printed",
    "ci_low",
    "ci_high",
    "ci_method",
    "difference",
    "verdict",
    "flags",
    "table_id",
    "cell",
    "table_file",
    "checks",
    "note",
]
# Where a reader finds the cell or test an entry is checked against, among the public outputs.
TABLE_FILE = "results/tables/{table}.csv"
TESTS_FILE = "results/tests.csv"


def _cell_rows(cells: pd.DataFrame, cell: dict) -> pd.DataFrame:
    selected = cells[
        (cells["table_id"] == cell["table"])
        & (cells["wave"] == cell["wave"])
        & (cells["by_value"] == cell["by_value"])
        & (cells["weighting"] == cell["weighting"])
    ]
    return selected


def _matched_cell(cells: pd.DataFrame, cell: dict | None) -> pd.Series | None:
    """The table row an entry's cell names (with its category), or None."""
    if not cell or not cell.get("category"):
        return None
    rows = _cell_rows(cells, cell)
    match = rows[rows["category"] == cell["category"]]
    return None if match.empty else match.iloc[0]


def _interval(row: pd.Series | None, kind: str) -> tuple[float | None, float | None, str]:
    """The confidence interval of the value an entry's claim is checked on, with its method: the cell's
    percentage interval (a mean's for a mean; none for a count or a test)."""
    if row is None or kind in ("count", "top", "association", "trend", "statistic"):
        return None, None, ""
    estimate = "mean" if kind == "mean" else "pct"
    low, high = row.get(f"{estimate}_ci_low"), row.get(f"{estimate}_ci_high")
    if low is None or pd.isna(low) or pd.isna(high):
        return None, None, str(row.get("ci_method") or "")
    return float(low), float(high), str(row.get("ci_method") or "")


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
    decimals = entry["decimals"]
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
    entry: dict,
    registry: Registry,
    cells: pd.DataFrame,
    tests: pd.DataFrame,
    conventions: tuple[str, ...],
    *,
    small_base: int,
) -> dict:
    """The audit row of one registry entry: the printed value, the recomputed one with its count and interval,
    their difference, the verdict, and the flags of the cell it rests on, spelled out (a small base or the NCHS
    standard's judgement does not change a verdict, but a reader should see it beside the verdict)."""
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
        "reliability": entry["reliability"],
        "claim": _claim_text(entry),
        "printed": entry.get("printed") or "",
        "recomputed": None,
        "recomputed_display": "",
        "recomputed_as_printed": "",
        "ci_low": None,
        "ci_high": None,
        "ci_method": "",
        "difference": None,
        "verdict": NOT_COMPUTABLE,
        "flags": "",
        "table_id": cell["table"] if cell else claim.get("test", ""),
        "cell": cell_text(cell) if cell else "",
        "table_file": TABLE_FILE.format(table=cell["table"]) if cell else TESTS_FILE if claim.get("test") else "",
        "checks": "",
        "note": entry.get("note", ""),
    }
    notes = [row["note"]] if row["note"] else []
    if entry["reliability"] == "disputed" and entry.get("conflicts_with"):
        notes.append("disputed: conflicts with " + ", ".join(entry["conflicts_with"]))
    checks = data_free_checks(entry, None, conventions)

    if kind in VALUE_CLAIMS and entry["value"] is None:
        row["verdict"] = NOT_TRANSCRIBED
        notes.append("value not public or not yet transcribed")
    elif kind == "statistic":
        ok, text = statcheck(
            claim["distribution"], claim["statistic_printed"], claim["df1"], claim.get("df2"), claim["p_printed"]
        )
        row["verdict"] = HOLDS if ok else FAILS
        notes.append("statcheck: " + text)
        if not ok:
            notes.extend(
                statcheck_fits(
                    claim["distribution"],
                    claim["statistic_printed"],
                    claim["df1"],
                    claim.get("df2"),
                    claim["p_printed"],
                )
            )
    elif not cell and kind not in ("association", "trend"):
        notes.append("data-free entry: no table cell to recompute it from; checked by its arithmetic alone")
    else:
        verdict, recomputed, display, difference, extra, base_n = _recompute(entry, cells, tests, conventions)
        row.update(verdict=verdict, recomputed=recomputed, recomputed_display=display, difference=difference)
        row["recomputed_as_printed"] = as_printed(entry, recomputed)
        notes.extend(extra)
        if base_n is not None:
            checks = data_free_checks(entry, base_n, conventions)
        if kind not in ("association", "trend"):
            cell_row = _matched_cell(cells, cell)
            if recomputed is not None:
                row["ci_low"], row["ci_high"], row["ci_method"] = _interval(cell_row, kind)
            if cell_row is not None:
                row["flags"] = "; ".join(flag_labels(cell_row.get("flags") or "", small_base))
    row["checks"] = "; ".join(checks)
    row["note"] = "; ".join(n.rstrip(".") for n in notes if n)
    return row


def data_free_checks(entry: dict, recomputed_base: int | None, conventions: tuple[str, ...]) -> list[str]:
    """GRIM on a printed whole-number or decimal percentage, against its printed base and the recomputed one."""
    out = []
    if entry["claim"]["type"] != "percentage" or entry["value"] is None:
        return out
    for label, n in (("printed base", entry.get("base_n")), ("recomputed base", recomputed_base)):
        if n:
            ok, text = grim_check(entry["value"], entry["decimals"], int(n), conventions)
            out.append(f"GRIM vs {label} {n}: " + (f"consistent ({text})" if ok else f"INCONSISTENT ({text})"))
    return out


def grim_check(value: float, decimals: int, n: int, conventions: tuple[str, ...]) -> tuple[bool, str]:
    """GRIM on one printed percentage with its base: (consistent, the counts that give it, each with the
    rounding rule it needs if a tie makes it depend on one; or the nearest values that base can print, and the
    counts truncation would give)."""
    counts = share_counts(value, decimals, n, conventions)
    if counts:
        parts = []
        for first, last, rule in _count_runs(counts, conventions):
            if not rule and last - first >= 10:  # a large base: many counts give the share, GRIM says little
                parts.append(f"{first} to {last} ({last - first + 1:,} counts)")
                continue
            for k in range(first, last + 1):
                parts.append(f"{k}" + (f" (only with {rule}: {k}/{n} = {exact_percent(k, n)}%)" if rule else ""))
        return True, "k = " + ", ".join(parts)
    text = "no whole number of respondents gives it; nearest possible: " + " or ".join(
        nearest_feasible(value, decimals, n, conventions[0])
    )
    truncated = share_counts(value, decimals, n, ("truncate",)) if "truncate" not in conventions else {}
    if truncated:
        text += f"; truncation would give it (k = {', '.join(map(str, sorted(truncated)))})"
    return False, text


def _count_runs(counts: dict[int, tuple[str, ...]], conventions: tuple[str, ...]) -> list[tuple[int, int, str]]:
    """The counts that give a share as runs of consecutive counts needing the same rounding rule: (first, last,
    rule), the rule '' when every convention gives the share."""
    by_rule: dict[str, list[int]] = {}
    for k in sorted(counts):
        by_rule.setdefault(rule_needed(counts[k], conventions), []).append(k)
    return sorted((first, last, rule) for rule, ks in by_rule.items() for first, last in consecutive_runs(ks))


def _recompute(entry, cells, tests, conventions):
    claim = entry["claim"]
    kind = claim["type"]
    cell = entry.get("cell")
    if kind in ("association", "trend"):
        return _recompute_test(entry, cells, tests)
    rows = _cell_rows(cells, cell)
    if rows.empty:
        return NOT_COMPUTABLE, None, "", None, [f"no table cell {cell_text(cell)}"], None
    if kind == "top":
        ranked = rows.sort_values(["pct", "category"], ascending=[False, True])
        top = list(ranked["category"][: len(claim["categories"])])
        ok = set(top) == set(claim["categories"])
        return (HOLDS if ok else FAILS), None, "most common: " + ", ".join(top), None, [], None
    cell_row = _matched_cell(cells, cell)
    if cell_row is None:
        return NOT_COMPUTABLE, None, "", None, [f"no category '{cell['category']}' in {cell_text(cell)}"], None
    base_n = int(cell_row["base_n"])
    if base_n == 0 and kind not in ("count", "mean"):
        return NOT_COMPUTABLE, None, "", None, ["the cell's base is empty"], None
    if kind == "count":
        value = int(cell_row["n"])
        ok = value == entry["value"]
        return (REPRODUCED if ok else DIFFERS), float(value), str(value), float(value - entry["value"]), [], None
    if kind == "mean":
        value = float(cell_row["mean"])
        decimals = entry["decimals"]
        accept = claim.get("accept") or [entry["value"]]
        ok = any(rounds_to(value, a, decimals, conventions) for a in accept)
        return (REPRODUCED if ok else DIFFERS), value, _fmt(value), value - entry["value"], [], None
    pct = _percentage(cell_row)
    display = (
        f"{_fmt(pct)}% ({int(cell_row['n'])}/{base_n})" if cell_row["weighting"] == "unweighted" else f"{_fmt(pct)}%"
    )
    if kind == "percentage":
        ok = rounds_to(pct, entry["value"], entry["decimals"], conventions)
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
    alpha = claim["alpha"]
    test = tests[tests["test_id"] == claim["test"]] if len(tests) else tests
    if test.empty:
        return NOT_COMPUTABLE, None, "", None, [f"no test '{claim['test']}' in results/tests.csv"], None
    test = test.iloc[0]
    if test.get("flags"):
        # e.g. a wave's estimate of 0% or 100%, whose design SE is 0: the test is not evidence either way.
        return NOT_COMPUTABLE, None, "", None, [f"test '{claim['test']}' is flagged {test['flags']}"], None
    if pd.isna(test["p"]):
        return NOT_COMPUTABLE, None, "", None, [f"test '{claim['test']}': {test['method']}"], None
    p = float(test["p_adjusted"]) if not pd.isna(test.get("p_adjusted")) else float(test["p"])
    significant = p < alpha
    p_text = f"p = {p:.3g}" + (" (adjusted)" if not pd.isna(test.get("p_adjusted")) else "")
    on_model = is_model_test(claim["test"])
    if on_model:  # the claim rests on a model: the note names its test, statistic and coefficient
        notes = [f"test {claim['test']}: {test['method']}: F = {float(test['statistic']):.3g}, {p_text}"]
    else:
        notes = [f"{test['method']}: {p_text}"]
    if claim["type"] == "trend" or on_model:
        direction = str(test.get("direction", ""))
        ok = significant and direction == claim["direction"]
        coefficient = f" (coefficient {float(test['estimate']):+.3g})" if on_model and direction else ""
        notes.append(f"direction: {direction or 'unknown'}{coefficient}")
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


def cell_text(cell: dict | None) -> str:
    """A registry cell's address as the audit prints it (``table/wave[/by_value]/category[/weighted]``)."""
    if not cell:
        return ""
    parts = [cell["table"], cell["wave"]]
    if cell["by_value"] != "all":
        parts.append(cell["by_value"])
    if cell.get("category"):
        parts.append(cell["category"])
    if cell["weighting"] != "unweighted":
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
    registries: list[Registry],
    cells: pd.DataFrame,
    tests: pd.DataFrame,
    conventions: tuple[str, ...],
    *,
    small_base: int,
) -> pd.DataFrame:
    """Audit rows for every entry of every registry, with the group sums checked."""
    rows = [audit_entry(e, r, cells, tests, conventions, small_base=small_base) for r in registries for e in r.entries]
    frame = pd.DataFrame(rows, columns=AUDIT_COLUMNS)
    for registry in registries:
        for group, checks in group_checks(registry, conventions).items():
            text = "; ".join(f"{check} check {'ok' if ok else 'FAILS'}: {detail}" for check, ok, detail in checks)
            for entry in registry.entries:
                if entry.get("group") == group:
                    mask = frame["entry_id"] == entry["id"]
                    current = frame.loc[mask, "checks"].iloc[0]
                    frame.loc[mask, "checks"] = (current + "; " if current else "") + text
    return frame


def group_checks(registry: Registry, conventions: tuple[str, ...]) -> dict[str, list[tuple[str, bool, str]]]:
    """The checks of each group of printed shares (one single-choice question): their sum, and, where the
    registry carries the question's printed base, their joint counts. Per group: (check, ok, detail); the audit
    writes each as '{check} check ok: {detail}' (or FAILS)."""
    groups: dict[str, list[dict]] = {}
    for entry in registry.entries:
        if entry.get("group") and entry["value"] is not None and entry["claim"]["type"] == "percentage":
            groups.setdefault(entry["group"], []).append(entry)
    out = {}
    for group, entries in groups.items():
        decimals = max(e["decimals"] for e in entries)
        complete = any(e["group_complete"] for e in entries)
        ok, text = sum_check([e["value"] for e in entries], decimals, complete)
        out[group] = [("sum", ok, text)]
        bases = sorted({int(e["base_n"]) for e in entries if e.get("base_n")})
        if len(bases) > 1:
            out[group].append(("counts", False, f"the shares print different bases ({', '.join(map(str, bases))})"))
        elif bases:
            out[group].append(("counts", *counts_check(entries, bases[0], complete, conventions)))
    return out


def counts_check(entries: list[dict], n: int, complete: bool, conventions: tuple[str, ...]) -> tuple[bool, str]:
    """Solve a group's printed shares for whole counts summing to its base n (at most n if not every category
    is printed): the unique vector, the solutions up to five, or why there is none."""
    shares = [(e["value"], e["decimals"]) for e in entries]
    labels = "/".join(e.get("category") or e["id"] for e in entries)
    relation = "sum to" if complete else "sum to at most"
    result = joint_counts(shares, n, conventions, complete)
    if result.impossible:
        printed = ", ".join(entries[i]["printed"] or str(entries[i]["value"]) for i in result.impossible)
        return False, f"no counts of {n}: {printed} is not k/{n} for any whole k"
    if result.total == 0:
        ranges = [sorted(share_counts(v, d, n, conventions)) for v, d in shares]
        low, high = sum(r[0] for r in ranges), sum(r[-1] for r in ranges)
        if low == high:
            only = "/".join(str(r[0]) for r in ranges)
            text = f"no counts {relation} {n}: the only counts, {only} ({labels}), sum to {low}"
        else:
            text = f"no counts {relation} {n}: the counts of {labels} sum to {low}–{high}"
        if "truncate" not in conventions:
            truncated = joint_counts(shares, n, ("truncate",), complete)
            if truncated.total:
                text += "; truncation would give " + "/".join(map(str, truncated.solutions[0]))
        return False, text
    vectors = ", ".join("/".join(map(str, v)) for v in result.solutions)
    if result.total == 1:
        text = f"of {n}, the only counts are {vectors} ({labels})"
    elif result.total <= len(result.solutions):
        text = f"of {n}, {result.total} solutions: {vectors} ({labels})"
    else:
        text = f"of {n}, {result.total} solutions, e.g. {vectors} ({labels})"
    rules = {rule_needed(r, conventions) if r else "mixed rounding rules" for r in result.rules}
    if "" not in rules:
        text += "; needs " + " or ".join(sorted(rules))
    return True, text


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
        difference = "" if r.difference in (None, "") or pd.isna(r.difference) else f"{float(r.difference):+.2f}"
        recomputed = r.recomputed_as_printed or (
            "p = " + r.recomputed_display.split("p = ")[-1]
            if "p = " in str(r.recomputed_display)
            else r.recomputed_display
        )
        printed = (r.printed or "(claim)")[:14]
        flags = f" ({r.flags})" if r.flags else ""  # e.g. cell suppressed; NCHS: suppress
        lines.append(
            f"{r.entry_id:<40} {printed:<14} {str(recomputed)[:12]:<12} {difference:>10}  {r.verdict}{flags}"
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
    cells: list[str],
    tests: str,
    registries: list[str],
    conventions: list[str],
    small_base: int,
    audit_out: str,
) -> None:
    """Stage function: the full internal cells and tests → a verdict per registry entry (internal: the publish
    stage writes the public audit, with the counts of suppressed cells left out)."""
    frame_cells = pd.concat([formats.read_parquet(p) for p in cells], ignore_index=True)
    tests_frame = formats.read_csv(tests, keep_default_na=False, na_values={c: [""] for c in ("p", "p_adjusted")})
    loaded = [load_registry(p) for p in registries]
    frame = audit(loaded, frame_cells, tests_frame, tuple(conventions), small_base=small_base)
    frame = frame.sort_values(["report", "entry_id"], kind="stable").reset_index(drop=True)
    formats.write_csv(frame, audit_out)


def check_published(registry: Registry, conventions: tuple[str, ...]) -> pd.DataFrame:
    """The checks a reviewer can run on a registry alone, without any data: GRIM on each printed percentage
    with a printed base, the sums and joint counts of each question's printed shares, and the statcheck rule on
    each printed test statistic, a percentage reading as printed under any of the rounding ``conventions``. One
    row per check: entry (or group), check, ok, detail."""
    rows = []
    for entry in registry.entries:
        claim = entry["claim"]
        if claim["type"] == "percentage" and entry["value"] is not None and entry.get("base_n"):
            ok, text = grim_check(entry["value"], entry["decimals"], int(entry["base_n"]), conventions)
            detail = f"{entry['printed']} of {entry['base_n']}: {text}"
            rows.append({"entry": entry["id"], "check": "GRIM", "ok": ok, "detail": detail})
        if claim["type"] == "statistic":
            args = (claim["distribution"], claim["statistic_printed"], claim["df1"], claim.get("df2"))
            ok, text = statcheck(*args, claim["p_printed"])
            if not ok:
                text = "; ".join([text, *statcheck_fits(*args, claim["p_printed"])])
            rows.append({"entry": entry["id"], "check": "statcheck", "ok": ok, "detail": text})
    for group, checks in group_checks(registry, conventions).items():
        for check, ok, text in checks:
            rows.append({"entry": group, "check": check, "ok": ok, "detail": text})
    return pd.DataFrame(rows, columns=["entry", "check", "ok", "detail"])
