"""Trace a printed number to where it came from: ``survey-audit trace ENTRY`` (an audit entry) or
``survey-audit trace TABLE CELL`` (a table cell).

The trail runs, one step a line, from the number the report printed to the raw file:

1. the printed value, its report, section and wording (from ``results/audit/published.csv``);
2. the recomputed value with its confidence interval, difference and verdict (the audit, and the table row);
3. the table cell: its file and row (the line a text editor shows, the header being line 1) and its values, or
   for a test, its row of ``results/tests.csv``;
4. the jobs that made it, newest first, each with its configuration values and the library modules it ran
   (from the job records in ``results/manifest.json``): the publish job that wrote the public file, then the
   jobs of the cell's scope behind it, back to the ingest job of each wave;
5. the files those jobs read that no job wrote (raw export, codebook, weighting spec, plan files), with their
   sha256 as the jobs read them, the raw export marked;
6. the commit and configuration hash of the run.

Only the public outputs are read, so the trail respects disclosure control: a suppressed cell's values are
shown as ``[c] withheld``, never as the small count behind them. With ``internal`` the full values are read from
``results/internal/`` and shown under a warning that they are not for publication.
"""

from __future__ import annotations

import difflib
import json
import textwrap
from pathlib import Path

import pandas as pd

from .. import stale
from ..config.tables import scope_waves
from ..errors import SurveyAuditError
from ..formats import read_csv, read_parquet
from ..stages.audit import cell_text as cell_address
from ..stages.disclosure import SUPPRESSED
from ..stages.manifest import job_label
from .releases import commit_text

WITHHELD = "[c] withheld"
KEY = ["table_id", "wave", "by_value", "category", "weighting"]  # a cell within the tables
WIDTH = 116
NOT_FOR_PUBLICATION = (
    "WARNING: --internal shows the full values of results/internal/, small counts included: they are not for "
    "publication (do not paste them into a report, an issue or a release)."
)


def trace(target: str, cell: str | None = None, *, results: str | Path = "results", internal: bool = False) -> str:
    """The trail of an audit entry (``target``), or of a table cell (``target`` a table id and ``cell`` its
    address, or ``target`` the full address ``table/wave/...``)."""
    results = Path(results)
    manifest = _manifest(results)
    audit = _read(results / "audit" / "published.csv")
    lines = [NOT_FOR_PUBLICATION, ""] if internal else []
    why = stale.reason(results)
    if why is not None:
        lines += [f"NOTE: the results are stale ({why}); the trail describes them as they are.", ""]
    if cell is None and target in set(audit["entry_id"]):
        entry = audit[audit["entry_id"] == target].iloc[0]
        lines += _entry_lines(entry, results, internal)
        if entry["cell"]:
            table = entry["table_id"]
            row, number = _table_row(results, table, entry["cell"])
            lines += _cell_lines(row, number, table, results, internal, with_verdicts=None)
            lines += _trail(manifest, f"results/tables/{table}.csv", "cells", row["wave"])
        elif entry["table_id"]:
            lines += _test_lines(results, entry["table_id"], manifest)
        else:
            lines += ["  (a data-free entry: no table cell or test stands behind it)"]
    else:
        table, address = _address(target, cell, results, audit)
        row, number = _table_row(results, table, address)
        lines.append(f"Trail of {address}")
        lines += _cell_lines(row, number, table, results, internal, with_verdicts=audit)
        lines += _trail(manifest, f"results/tables/{table}.csv", "cells", row["wave"])
    lines += _code_lines(manifest)
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------- reading


def _manifest(results: Path) -> dict:
    path = results / "manifest.json"
    if not path.is_file() or not (results / "audit" / "published.csv").is_file():
        raise SurveyAuditError(
            "there are no results to trace",
            file=path if not path.is_file() else results / "audit" / "published.csv",
            expected="the results of a run of the workflow",
            hint="run the workflow first: survey-audit run",
        )
    return json.loads(path.read_text(encoding="utf-8"))


def _read(path: Path) -> pd.DataFrame:
    return read_csv(path, dtype=str, keep_default_na=False)


def _address(target: str, cell: str | None, results: Path, audit: pd.DataFrame) -> tuple[str, str]:
    """The table and the full address (``table/wave/...``) a target and cell name."""
    tables = sorted(p.stem for p in (results / "tables").glob("*.csv"))
    if cell is None and "/" in target:
        target, cell = target.split("/", 1)[0], target
    if target not in tables:
        known = list(audit["entry_id"]) + tables
        close = difflib.get_close_matches(target, known, n=3)
        raise SurveyAuditError(
            f"there is no audit entry or table called '{target}'",
            file=results / "audit" / "published.csv",
            expected="an entry id of the audit (e.g. t15-advertised-online), or a table id of results/tables/ "
            "with a cell",
            hint=f"did you mean {' or '.join(close)}?" if close else "the audit's entry_id column lists the entries",
        )
    if cell is None:
        raise SurveyAuditError(
            f"'{target}' is a table: name the cell to trace",
            file=results / "tables" / f"{target}.csv",
            expected=f"a cell after the table, e.g. survey-audit trace {target} wave1/CATEGORY",
        )
    return target, cell if cell.startswith(f"{target}/") else f"{target}/{cell}"


def _table_row(results: Path, table: str, address: str) -> tuple[pd.Series, int]:
    """The row of a public table a cell address names, and its line in the file (the header is line 1)."""
    path = results / "tables" / f"{table}.csv"
    if not path.is_file():
        raise SurveyAuditError(
            "the table an audit entry names is not among the results",
            file=path,
            hint="run the workflow (survey-audit run)",
        )
    frame = _read(path)
    addresses = [
        cell_address(
            {
                "table": r.table_id,
                "wave": r.wave,
                "by_value": r.by_value,
                "category": r.category,
                "weighting": r.weighting,
            }
        )
        for r in frame.itertuples(index=False)
    ]
    if address not in addresses:
        close = difflib.get_close_matches(address, addresses, n=3, cutoff=0.5)
        raise SurveyAuditError(
            f"the table has no cell '{address}'",
            file=path,
            expected="table/wave[/by_value]/category[/weighting], as the audit's cell column names cells",
            hint=f"did you mean {' or '.join(close)}?" if close else None,
        )
    index = addresses.index(address)
    return frame.iloc[index], index + 2


# ------------------------------------------------------------------------------------------------ the trail


def _suppressed(row: pd.Series) -> bool:
    return SUPPRESSED in str(row.get("flags", "")).split(";")


def _entry_lines(entry: pd.Series, results: Path, internal: bool) -> list[str]:
    where = ", ".join(p for p in (entry["report"], entry["section"], entry["figure"]) if p)
    lines = [
        f"Trail of {entry['entry_id']} ({where})",
        f'  printed:     {entry["printed"] or "(a claim)"}: "{entry["wording"]}"',
    ]
    flags = entry.get("flags", "")
    recomputed = entry["recomputed_display"]
    if not recomputed and "suppressed" in flags:
        recomputed = WITHHELD
        if internal:
            full = _read(results / "internal" / "audit.csv")
            recomputed = full.loc[full["entry_id"] == entry["entry_id"], "recomputed_display"].iloc[0] + " (internal)"
    unit = " points" if entry["claim"] == "percentage" else ""
    difference = f", difference {float(entry['difference']):+.2f}{unit}" if entry["difference"] else ""
    lines.append(
        f"  recomputed:  {recomputed or '(none)'}{difference}: {entry['verdict']} [{entry['reliability']}]"
        + (f" ({flags})" if flags else "")
    )
    if entry["checks"]:
        lines.append(f"  checks:      {entry['checks']}")
    return lines


def _estimate_columns(row: pd.Series) -> tuple[str | None, list[str]]:
    """The estimate a table row gives (pct or mean) and its interval's columns."""
    for kind in ("pct", "mean"):
        if kind in row.index:
            return kind, [kind, f"{kind}_se", f"{kind}_ci_low", f"{kind}_ci_high"]
    return None, []


def _cell_lines(
    row: pd.Series, number: int, table: str, results: Path, internal: bool, with_verdicts: pd.DataFrame | None
) -> list[str]:
    kind, columns = _estimate_columns(row)
    values = row
    note = ""
    if _suppressed(row) and internal:
        values = _internal_row(results, row)
        note = " (internal values)"
    suppressed = _suppressed(row) and not internal

    def shown(column: str) -> str:
        return WITHHELD if suppressed and not values.get(column, "") else values.get(column, "")

    lines = []
    if kind:
        ci = (
            WITHHELD
            if suppressed
            else f"{float(values[columns[2]]):.2f} to {float(values[columns[3]]):.2f}"
            if values.get(columns[2], "")
            else "(none)"
        )
        level = f"{float(row['level']) * 100:g}% " if row.get("level") else ""
        lines.append(
            f"  estimate:    {kind} {shown(kind)}{note}, {level}CI {ci} ({row.get('ci_method', '')}), "
            f"se {shown(columns[1])}, df {row.get('df', '')}"
        )
    lines.append(
        f"  table cell:  results/tables/{table}.csv, row {number}: wave {row['wave']}, "
        + (f"{row['by']} = {row['by_value']}, " if row.get("by") else "")
        + f"{row['variable']} = {row['category']}, {row['weighting']}; n {shown('n')} of base {shown('base_n')}"
        + (f"; flags: {row['flags']}" if row.get("flags") else "")
    )
    if with_verdicts is not None:
        address = cell_address({k.replace("table_id", "table"): row[k] for k in KEY})
        printed = with_verdicts[with_verdicts["cell"] == address]
        for entry in printed.itertuples(index=False):
            lines.append(f"  printed as:  {entry.entry_id}: {entry.printed or '(a claim)'}, {entry.verdict}")
    return lines


def _internal_row(results: Path, row: pd.Series) -> pd.Series:
    """The full internal values of a public table row."""
    cells = read_parquet(results / "internal" / "cells" / f"{row['wave']}.parquet")
    match = cells
    for key in KEY:
        match = match[match[key].astype(str) == row[key]]
    return match.iloc[0].map(lambda v: "" if pd.isna(v) else str(v))


def _test_lines(results: Path, test_id: str, manifest: dict) -> list[str]:
    tests = _read(results / "tests.csv")
    match = tests.index[tests["test_id"] == test_id]
    if match.empty:
        return [f"  test:        {test_id} is not in results/tests.csv"]
    row = tests.loc[match[0]]
    withheld = SUPPRESSED in row.get("flags", "").split(";")
    p = WITHHELD if withheld else f"{row['p']} (adjusted {row.get('p_adjusted', '')}, {row.get('adjustment', '')})"
    lines = [
        f"  test:        results/tests.csv, row {match[0] + 2}: {test_id}, {row['method']}; p {p}",
    ]
    return lines + _trail(manifest, "results/tests.csv", "tests", row["wave"])


def _compatible(record: dict, scopes: set[str]) -> bool:
    """Whether a job worked on the scopes a cell or test rests on (a job of no wave or scope always does)."""
    wildcards = record["wildcards"]
    if "scope" in wildcards:
        return wildcards["scope"] in scopes
    if "wave" in wildcards:
        return wildcards["wave"] in {w for s in scopes for w in scope_waves(s)}
    return True


def _trail(manifest: dict, start: str, first: str, scope: str) -> list[str]:
    """The jobs behind a public file's row, newest first, and the files they read that no job wrote.

    The publish job reads every scope's results; from it, only its input ``first`` is followed, and from it and
    any other job of no wave (the tests), only the jobs of the row's scopes. A job of a wave or scope is followed
    through all its inputs (a weighted wave's margins rest on its reference wave too)."""
    outputs = manifest["outputs"]
    scopes = set(scope.split("-"))  # a comparison a-b rests on the scopes a and b
    jobs: dict[str, dict] = {}
    leaves: dict[str, tuple[str, str]] = {}
    edges: set[tuple[str, str]] = set()  # (job, a job whose output it read)
    todo = [(start, True, None)]
    while todo:
        path, is_start, consumer = todo.pop(0)
        record = outputs[path]
        label = job_label(record)
        if consumer is not None:
            edges.add((consumer, label))
        if label in jobs:
            jobs[label]["wrote"].add(path)
            continue
        jobs[label] = {"record": record, "wrote": {path}}
        fan_in = is_start or not record["wildcards"]
        for name, files in sorted(record["inputs"].items()):
            if is_start and name != first:
                continue
            for source in sorted(files):
                producer = outputs.get(source)
                if producer is None:
                    leaves.setdefault(source, (name, files[source]))
                elif not fan_in or _compatible(producer, scopes):
                    todo.append((source, False, label))
    depth = dict.fromkeys(jobs, 0)  # the longest way back from the public file: a job before those it read
    for _ in jobs:
        for consumer, producer in edges:
            depth[producer] = max(depth[producer], depth[consumer] + 1)
    lines = ["  made by (newest first):"]
    for label, job in sorted(jobs.items(), key=lambda item: depth[item[0]]):
        record = job["record"]
        lines.append(f"    {label}: wrote {', '.join(sorted(job['wrote']))}")
        config = _flatten(record.get("config", {}))
        if config:
            lines += _wrapped("config: " + ", ".join(f"{k}={v}" for k, v in config.items()), "      ")
        modules = [m.split("survey_audit/", 1)[-1] for m in sorted(record.get("modules", {})) if m.endswith(".py")]
        schemas = [m for m in record.get("modules", {}) if not m.endswith(".py")]
        lines += _wrapped(
            f"code: {', '.join(modules)}" + (f" (and {len(schemas)} schemas)" if schemas else ""), "      "
        )
    lines.append("  files read that no job wrote (sha256 as the jobs read them):")
    raw = [p for p, (name, _) in leaves.items() if name == "raw"]
    for path in raw + sorted(set(leaves) - set(raw)):
        name, digest = leaves[path]
        lines.append(f"    {'RAW ' if name == 'raw' else ''}{path} ({name}): {digest}")
    return lines


def _flatten(values: dict, prefix: str = "") -> dict[str, str]:
    """Configuration values as ``key.sub=value``; a long list by its length."""
    out = {}
    for key, value in sorted(values.items()):
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        elif isinstance(value, list) and len(value) > 4:
            out[name] = f"[{len(value)} items]"
        else:
            out[name] = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return out


def _wrapped(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent + "  ", break_on_hyphens=False)


def _code_lines(manifest: dict) -> list[str]:
    return _wrapped(
        f"run:         survey-audit {manifest['code_version']['package']}, "
        f"{commit_text(manifest['code_version']['git'], digits=40)}; "
        f"configuration sha256 {manifest['config_sha256']}" + ("; synthetic data" if manifest.get("synthetic") else ""),
        "  ",
    )
