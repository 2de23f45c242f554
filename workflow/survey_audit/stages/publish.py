"""The publish stage: the full internal results → the public outputs, with disclosure control applied.

Two tiers. ``results/internal/`` holds the full results for those who hold the data (never released; all of
``results/`` but the releases is ignored by git). The public outputs are what a release freezes and the report
and workbook show: one CSV per table (``results/tables/``), the tests (``results/tests.csv``), the audit
(``results/audit/published.csv`` and its summary), each wave's exclusion flow and weighting margins
(``results/public/``). The suppress stage (:mod:`survey_audit.stages.suppress`) has decided which counts to
withhold (small counts, and the counts that would give them back) and recorded which and why in
``results/internal/suppressed.csv``; this stage blanks them, and every number computed from them.

A public table keeps the columns of its kind (a proportion table has no mean columns and the reverse; a sample
table only counts), rows by wave and weighting, then in the declared order of by-values and categories, and
every fractional number rounded to ``tabulation.decimals`` decimals. Audit verdicts are the ones computed on the
full values; a suppressed cell's recomputed value is not shown. The columns are described in
``docs/columns.md``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .. import formats
from ..config.registry import load_registry
from ..stats.disclosure import sensitive
from .audit import summary_text
from .conventions import CELL_COLUMNS, FLAGS, MEAN_COLUMNS, PROPORTION_COLUMNS
from .disclosure import (
    SUPPRESSED,
    hidden_rows,
    load_model,
    public_cells,
    public_flow,
    public_log,
    public_margins,
)
from .suppress import read_suppressed

ESTIMATE_COLUMNS = {"proportions": PROPORTION_COLUMNS, "mean": MEAN_COLUMNS, "sample": []}
# Columns that describe an estimate's uncertainty: absent from a sample table, n_eff absent from a mean's.
UNCERTAINTY_COLUMNS = ["ci_method", "level", "deff", "n_eff", "df"]
TEST_RESULT_COLUMNS = ["statistic", "ddf", "p", "p_adjusted", "estimate", "direction"]
# The audit's numbers computed from a cell, withheld with the cell.
WITHHELD_AUDIT_COLUMNS = [
    "recomputed",
    "recomputed_display",
    "recomputed_as_printed",
    "ci_low",
    "ci_high",
    "difference",
]
SUPPRESSED_LABEL = FLAGS[SUPPRESSED][0]


def public_columns(kind: str) -> list[str]:
    """The columns of a public table of a kind (proportions, mean or sample)."""
    other = {c for k, cols in ESTIMATE_COLUMNS.items() if k != kind for c in cols}
    dropped = other | (set(UNCERTAINTY_COLUMNS) if kind == "sample" else {"n_eff"} if kind == "mean" else set())
    return [c for c in CELL_COLUMNS if c not in dropped] + ["synthetic"]


def table_kind(cells: pd.DataFrame) -> str:
    """The kind of a table, from its cells."""
    if (cells["variable"] == "sample").all():
        return "sample"
    return "mean" if (cells["category"] == "mean").all() else "proportions"


def publish(
    *,
    cells: list[str],
    suppressed: str,
    tests: str,
    audit: str,
    registries: list[str],
    flows: dict[str, str],
    logs: dict[str, str],
    margins: dict[str, str],
    references: dict[str, dict[str, str]],
    variables: list[str],
    tables: str,
    min_count: int,
    decimals: int,
    synthetic: bool,
    tables_out: dict[str, str],
    tests_out: str,
    audit_out: str,
    summary_out: str,
    flows_out: dict[str, str],
    logs_out: dict[str, str],
    margins_out: dict[str, str],
) -> None:
    """Stage function: write every public output, without the counts the suppress stage withholds
    (``suppressed``: its record) and what is computed from them."""
    full, flow_frames, margin_frames, counts = load_model(cells, flows, margins, variables, tables, references)
    withheld = read_suppressed(suppressed, counts.problem, min_count)
    hidden = hidden_rows(counts, full, withheld)
    public = public_cells(full, hidden)
    _write_tables(public, decimals, tables_out)
    for wave, path in flows_out.items():
        flow = public_flow(flow_frames[wave], counts.flows[wave], withheld)
        formats.write_csv(flow, path)
        log = formats.read_csv(logs[wave], keep_default_na=False)
        formats.write_csv(public_log(log, flow, min_count), logs_out[wave])
    for wave, path in margins_out.items():
        formats.write_csv(public_margins(margin_frames[wave], counts.margins[wave], withheld), path)
    hidden_cells = full.loc[hidden.any(axis=1), ["table_id", "wave", "by_value", "category"]]
    hidden_set = set(hidden_cells.itertuples(index=False, name=None))
    public_tests = _public_tests(formats.read_csv(tests, dtype=str, keep_default_na=False), full, hidden_set, min_count)
    formats.write_csv(public_tests, tests_out)
    entries = {e["id"]: e for path in registries for e in load_registry(path).entries}
    public_audit = _public_audit(formats.read_csv(audit, keep_default_na=False), entries, full, hidden, min_count)
    formats.write_csv(public_audit, audit_out)
    formats.write_text(summary_text(public_audit, synthetic), summary_out)


def _write_tables(public: pd.DataFrame, decimals: int, tables_out: dict[str, str]) -> None:
    for column in public.columns:
        if pd.api.types.is_float_dtype(public[column].dtype):
            public[column] = public[column].round(decimals)
    for table_id, path in tables_out.items():
        part = public[public["table_id"] == table_id].sort_values(["wave", "weighting"], kind="stable")
        formats.write_csv(part[public_columns(table_kind(part))].reset_index(drop=True), path)


def _public_tests(tests: pd.DataFrame, full: pd.DataFrame, hidden: set, k: int) -> pd.DataFrame:
    """The tests as published: a wave comparison of a suppressed cell loses its numbers (its difference would
    give the cell back from the other wave's), and a test's base is not printed when it, or the number of the
    scope's respondents it leaves out (who did not answer one of the two questions; the scope's total is public in
    the sample table), is below the threshold. Test statistics are not in the attack model (they are not linear
    in the counts); a base's complement within a domain is not checked."""
    out = tests.copy()
    compared = out["test"] == "wave_difference"
    involves = [
        any(
            (table, wave, by_value, category) in hidden
            for wave in pair.split("-")
            for by_value in _by_values(test_id, pair)
        )
        for table, pair, test_id, category in zip(out["table_id"], out["wave"], out["test_id"], out["category"])
    ]
    gone = compared & np.array(involves, dtype=bool)
    for column in TEST_RESULT_COLUMNS:
        out.loc[gone, column] = ""
    out.loc[gone, "flags"] = [";".join([f for f in (flags, SUPPRESSED) if f]) for flags in out.loc[gone, "flags"]]
    respondents = full[
        (full["table_id"] == "sample") & (full["category"] == "respondents") & (full["weighting"] == "unweighted")
    ]
    totals = dict(zip(respondents["wave"], respondents["n"].astype(float)))
    small = [
        n != "" and (sensitive(float(n), k) or sensitive(totals.get(wave, float(n)) - float(n), k))
        for n, wave in zip(out["n"], out["wave"])
    ]
    out.loc[small, "n"] = ""
    return out


def _by_values(test_id: str, pair: str) -> list[str]:
    """The by-value of a wave comparison, from its id (``{table}:{a}-{b}:[{by_value}:]{category}``)."""
    parts = test_id.removesuffix(":weighted").split(":")
    return [parts[2]] if len(parts) == 4 else ["all"]


def _public_audit(audit: pd.DataFrame, entries: dict, full: pd.DataFrame, hidden: pd.DataFrame, k: int) -> pd.DataFrame:
    """The audit as published: verdicts as computed on the full values; a suppressed cell's recomputed value,
    its display (which holds its counts), its interval and the difference from the printed value are not shown,
    the check against the recomputed base neither, and its flags say so first. A data-free check that names a
    count of people below ``k`` (the counts a printed share implies) says only whether it holds."""
    flagged = full.loc[hidden.any(axis=1), ["table_id", "wave", "by_value", "category", "weighting"]]
    hidden_cells = set(flagged.itertuples(index=False, name=None))
    out = audit.copy()
    for i, entry_id in enumerate(out["entry_id"]):
        cell = entries[entry_id].get("cell")
        if cell:
            key = (cell["table"], cell["wave"], cell["by_value"], cell.get("category", ""), cell["weighting"])
            if key in hidden_cells:
                out.loc[i, WITHHELD_AUDIT_COLUMNS] = ""
                checks = out.loc[i, "checks"].split("; ")
                out.loc[i, "checks"] = "; ".join(c for c in checks if "recomputed base" not in c)
                out.loc[i, "flags"] = "; ".join(f for f in (SUPPRESSED_LABEL, out.loc[i, "flags"]) if f)
        out.loc[i, "checks"] = "; ".join(public_check(c, k) for c in out.loc[i, "checks"].split("; ") if c)
    return out


_COUNT_LISTS = re.compile(r"k = ([\d, ]+)|(\d+(?:/\d+)+)")


def public_check(check: str, k: int) -> str:
    """A data-free check as published: whole, unless a count it names (``k = 3, 4``, ``254/4/2``, ``16/26``),
    or its complement within the base the check names, is one from 1 to ``k`` - 1; then its verdict alone (``counts check ok: details withheld, ...``). The counts are
    arithmetic on printed numbers, not the data, but they can equal a count the tables withhold."""
    counts = [int(number) for match in _COUNT_LISTS.finditer(check) for number in re.findall(r"\d+", match.group(0))]
    base = re.search(r"(?:base|of) (\d+)", check)
    if base:
        counts += [int(base.group(1)) - c for c in counts]  # a count's complement within its base
    if not any(sensitive(c, k) for c in counts):
        return check
    head, rest = check.split(":", 1)
    if head.endswith((" ok", " FAILS")):
        return f"{head}: details withheld, they name a count below {k}"
    return f"{head}: {rest.split()[0]} (details withheld, they name a count below {k})"
