"""Versioned releases: freeze the public results, verify a rerun against a frozen release, and say what
changed between two versions, most important first.

A release (``results/releases/{name}/``, tracked in git) holds the public outputs exactly as a run wrote them
(disclosure control applied; nothing of ``results/internal/``): the tables, the tests, the audit, its summary,
the disclosure check, each wave's exclusion flow, cleaning log and weighting margins, and the manifest, plus
``release.json`` (code version, synthetic flag, sha256 of every file) and an entry in
``results/releases/CHANGELOG.md``. Because the outputs are written deterministically, a rerun with the same
data, configuration and code reproduces every file byte for byte; ``verify`` says which cells differ when one
does not. Results a failed or unfinished run left (``results/STALE``, see :mod:`survey_audit.stale`) are never
frozen.

**The code a release records** is read from git when the release is made (:func:`~survey_audit.provenance.
git_state`): the commit, and the tracked files of code and configuration that differ from it. A tree with such
changes is refused unless the release is made with ``allow_dirty``, which ``release.json`` and the changelog
then record with the changed files. The manifest, frozen with the results, records the same state as the run
saw it (a commit reruns the manifest job); a release whose manifest names another commit or other changed files
than the tree has now (results frozen without a rerun after a commit or an edit) is refused, so the two records
cannot disagree.

**A comparison** (:func:`comparison_text`, what ``diff`` and ``verify`` print) comes in four parts, in this order:
the audit entries whose verdict changed (the published numbers that moved, :mod:`survey_audit.stages.verdicts`);
one line per table with the number of cells that changed and the largest change in percentage points; the
inputs whose hashes differ between the two manifests (raw exports, codebooks, configuration, plan files) and the
code; then, only when asked, every changed value (:func:`values_text`); otherwise how many value lines were
left out. The changelog entry of a release lists its verdict changes against the previous release.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import stale
from ..config.tables import scope_waves
from ..errors import SurveyAuditError, VerificationError
from ..formats import read_csv, write_json, write_text
from ..provenance import git_state, sha256_file
from ..stages.verdicts import AUDIT_FILE, change_lines, releases_newest_first, verdict_changes

CURRENT = "current"
CELL_KEY = ["wave", "weighting", "by_value", "category"]  # a cell within its table
TEST_KEY = ["test_id"]
AUDIT_KEY = ["entry_id"]
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
DIFF_COLUMNS = ["part", "table", "cell", "column", "old", "new", "change_points", "noise"]
# Two numbers that differ by no more than this, relative to the larger, are the same value computed on another
# machine: linear algebra libraries (BLAS) and CPUs round the last of the 12 printed digits differently.
NOISE_RELATIVE = 1e-9


@dataclass(frozen=True)
class Version:
    """A set of public results: a frozen release or the current results directory."""

    name: str
    root: Path

    @property
    def tables_dir(self) -> Path:
        return self.root / "tables"

    def table_paths(self) -> dict[str, Path]:
        return {p.stem: p for p in sorted(self.tables_dir.glob("*.csv"))}

    def files(self) -> list[Path]:
        """The files a release freezes, relative to its root."""
        files = [p.relative_to(self.root) for p in self.table_paths().values()]
        files += [p.relative_to(self.root) for p in sorted((self.root / "public").glob("*/*.csv"))]
        for name in (
            "tests.csv",
            "audit/published.csv",
            "audit/summary.txt",
            "audit/disclosure.txt",
            "report/index.html",
            "report/tables.xlsx",
            "manifest.json",
        ):
            if (self.root / name).is_file():
                files.append(Path(name))
        return files


def resolve(name: str, results: str | Path = "results") -> Version:
    """The version called ``name``: 'current' (the results directory) or a release."""
    results = Path(results)
    if name == CURRENT:
        version = Version(CURRENT, results)
    else:
        version = Version(name, results / "releases" / name)
        if not (version.root / "release.json").is_file():
            known = sorted(p.name for p in (results / "releases").glob("*") if (p / "release.json").is_file())
            raise SurveyAuditError(
                f"there is no release called '{name}'",
                file=version.root,
                expected="one of " + (", ".join(known + [CURRENT]) if known else CURRENT),
            )
    if not version.table_paths():
        raise SurveyAuditError(
            f"'{name}' holds no tables",
            file=version.tables_dir,
            hint="run the workflow first: survey-audit run",
        )
    return version


def code_state(root: str | Path, allow_dirty: bool = False) -> dict:
    """The git state of the project at ``root`` for a release; raises when tracked files of code or
    configuration have uncommitted changes, unless ``allow_dirty``."""
    git = git_state(root)
    if git["dirty"] and not allow_dirty:
        raise SurveyAuditError(
            f"the code or configuration has uncommitted changes: {', '.join(git['changed'])}",
            expected="a release made from a commit, so that the commit it records reproduces it",
            hint="commit the changes and release again; or release anyway with --allow-dirty (the release and "
            "its changelog entry then say so and name the changed files)",
        )
    return git


def _check_manifest(manifest: dict, git: dict, path: Path) -> None:
    """Refuse results whose manifest names another commit or other changed files than the tree has now."""
    ran = manifest["code_version"]["git"]
    if git["commit"] is None or ran.get("commit") is None:
        return
    same = ran["commit"] == git["commit"] and sorted(ran.get("changed", git["changed"])) == git["changed"]
    if not same or bool(ran.get("dirty")) != bool(git["dirty"]):
        raise SurveyAuditError(
            f"the results were made at {commit_text(ran)}, but the tree is now at {commit_text(git)}",
            file=path,
            expected="results made from the code and configuration the release records",
            hint="bring the results up to date (survey-audit run, or release without --no-run), then release",
        )


def commit_text(git: dict, digits: int = 12) -> str:
    """A commit as the changelog and messages name it: its first ``digits`` digits, and its uncommitted
    changes."""
    commit = f"commit {(git.get('commit') or 'unknown')[:digits]}"
    if not git.get("dirty"):
        return commit
    changed = git.get("changed")
    return commit + (f" with uncommitted changes to {', '.join(changed)}" if changed else " with uncommitted changes")


def freeze(
    name: str,
    *,
    results: str | Path = "results",
    note: str = "",
    today: dt.date | None = None,
    allow_dirty: bool = False,
) -> Path:
    """Copy the current public results into ``results/releases/{name}`` and add a changelog entry. The code
    version is read from git now, in the project that holds ``results`` (:func:`code_state`)."""
    results = Path(results)
    if not NAME.match(name):
        raise SurveyAuditError(
            "a release name may hold only letters, digits, dots, dashes and underscores",
            value=name,
            expected="a name such as v1 or 2026-11-synthetic",
        )
    why = stale.reason(results)
    if why is not None:
        raise SurveyAuditError(
            f"the current results are stale: {why}",
            file=results / stale.MARKER,
            expected="results of a run of the whole workflow that succeeded",
            hint="run the workflow until it succeeds (survey-audit run), then release",
        )
    current = resolve(CURRENT, results)
    target = results / "releases" / name
    if target.exists():
        raise SurveyAuditError(
            f"the release '{name}' exists already; releases are never overwritten",
            file=target,
            hint="choose a new name",
        )
    previous = latest_release(results)
    git = code_state(results.resolve().parent, allow_dirty)
    manifest = json.loads((current.root / "manifest.json").read_text(encoding="utf-8"))
    _check_manifest(manifest, git, current.root / "manifest.json")
    staging = target.with_name(f".{name}.partial")
    if staging.exists():
        shutil.rmtree(staging)
    for relative in current.files():
        destination = staging / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(current.root / relative, destination)
    when = (today or dt.date.today()).isoformat()
    metadata = {
        "name": name,
        "date": when,
        "note": note,
        "code_version": {"package": manifest["code_version"]["package"], "git": git},
        "allow_dirty": allow_dirty,
        "synthetic": manifest["synthetic"],
        "config_sha256": manifest["config_sha256"],
        "registry_versions": manifest["registry_versions"],
        "files": {p.as_posix(): sha256_file(staging / p) for p in sorted(current.files())},
    }
    write_json(metadata, staging / "release.json")
    staging.rename(target)
    _changelog(results, Version(name, target), previous, metadata)
    return target


def latest_release(results: str | Path = "results") -> Version | None:
    """The most recent release: the first of the changelog (see
    :func:`~survey_audit.stages.verdicts.releases_newest_first`)."""
    releases = releases_newest_first(results)
    return Version(releases[0].name, releases[0]) if releases else None


def _changelog(results: Path, release: Version, previous: Version | None, metadata: dict) -> None:
    path = results / "releases" / "CHANGELOG.md"
    text = (
        path.read_text(encoding="utf-8")
        if path.is_file()
        else "# Releases\n\nNewest first. Written by `survey-audit release`.\n"
    )
    git = metadata["code_version"]["git"]
    dirty = " (released with --allow-dirty)" if metadata["allow_dirty"] and git.get("dirty") else ""
    lines = [
        f"## {release.name} ({metadata['date']})",
        "",
        f"- code: survey-audit {metadata['code_version']['package']}, {commit_text(git)}{dirty}",
        f"- data: {'synthetic stand-in' if metadata['synthetic'] else 'real survey responses'}",
        f"- {len(release.table_paths())} tables; registries {', '.join(f'{k} v{v}' for k, v in metadata['registry_versions'].items())}",
    ]
    if metadata["note"]:
        lines.append(f"- {metadata['note']}")
    if previous is not None:
        changes = compare(previous, release)
        changes = changes[~changes["noise"]]
        cells = changes[changes["part"] == "table"]
        touched = sorted(set(cells["table"]))
        lines.append(
            f"- since {previous.name}: {len(cells)} table value(s) changed"
            + (f" in {', '.join(touched)}" if touched else "")
            + f"; {int((changes['part'] != 'table').sum())} test or audit value(s) changed"
        )
        verdicts = verdicts_between(previous, release)
        if not verdicts:
            lines.append(f"- verdicts since {previous.name}: none changed")
        else:
            lines.append(f"- verdicts since {previous.name}: {len(verdicts)} changed")
            lines += change_lines(verdicts, indent="  - ")
    head, _, rest = text.partition("\n## ")
    body = "\n".join(lines) + "\n"
    new_text = head.rstrip("\n") + "\n\n" + body + ("\n## " + rest if rest else "")
    write_text(new_text, path)


# --------------------------------------------------------------------------------------------- comparison


def _read(path: Path) -> pd.DataFrame:
    return read_csv(path, dtype=str, keep_default_na=False)


def _change(part: str, table: str, cell: str, column: str, old: str, new: str, points: float | None = None) -> dict:
    return dict(
        part=part, table=table, cell=cell, column=column, old=old, new=new, change_points=points, noise=_noise(old, new)
    )


def _noise(old: str, new: str) -> bool:
    """Whether two printed values are the same number up to last-digit rounding (:data:`NOISE_RELATIVE`)."""
    try:
        a, b = float(old), float(new)
    except (TypeError, ValueError):
        return False
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    return abs(a - b) <= NOISE_RELATIVE * max(abs(a), abs(b))


def _compare_frames(part: str, table: str, old: pd.DataFrame, new: pd.DataFrame, key: list[str]) -> list[dict]:
    rows: list[dict] = []
    key = [k for k in key if k in old.columns and k in new.columns]
    old_index = old.set_index(key) if key else old
    new_index = new.set_index(key) if key else new
    for cell in sorted(set(old_index.index) | set(new_index.index), key=str):
        label = "/".join(cell) if isinstance(cell, tuple) else str(cell)
        if cell not in new_index.index:
            rows.append(_change(part, table, label, "(row)", "present", "removed"))
            continue
        if cell not in old_index.index:
            rows.append(_change(part, table, label, "(row)", "absent", "added"))
            continue
        before, after = old_index.loc[cell], new_index.loc[cell]
        for column in sorted(set(before.index) | set(after.index)):
            a, b = before.get(column, "(no column)"), after.get(column, "(no column)")
            if a != b:
                points = None
                if column == "pct":
                    try:
                        points = float(b) - float(a)
                    except ValueError:
                        points = None
                rows.append(_change(part, table, label, column, a, b, points))
    return rows


def compare(old: Version, new: Version, waves: set[str] | None = None) -> pd.DataFrame:
    """Every value that differs between two versions: table cells, tests and audit verdicts. With ``waves``,
    only the rows computed on those waves alone (a wave, a pool or a comparison of them): what a release
    published for them must not move when a later wave is added."""
    rows: list[dict] = []
    old_tables, new_tables = old.table_paths(), new.table_paths()
    for table in sorted(set(old_tables) | set(new_tables)):
        before = _within(_read(old_tables[table]), waves) if table in old_tables else None
        after = _within(_read(new_tables[table]), waves) if table in new_tables else None
        if waves:  # a table with no row on these waves is, for them, no table
            before = None if before is None or before.empty else before
            after = None if after is None or after.empty else after
        if before is None and after is None:
            continue
        if after is None:
            rows.append(_change("table", table, "(table)", "(file)", "present", "removed"))
        elif before is None:
            rows.append(_change("table", table, "(table)", "(file)", "absent", "added"))
        else:
            rows += _compare_frames("table", table, before, after, CELL_KEY)
    for part, relative, key in (("test", "tests.csv", TEST_KEY), ("audit", "audit/published.csv", AUDIT_KEY)):
        a, b = old.root / relative, new.root / relative
        if a.is_file() and b.is_file():
            rows += _compare_frames(part, relative, _within(_read(a), waves), _within(_read(b), waves), key)
    return pd.DataFrame(rows, columns=DIFF_COLUMNS).astype({"noise": bool})


def _within(frame: pd.DataFrame, waves: set[str] | None) -> pd.DataFrame:
    """The rows whose ``wave`` (a wave, a pool ``a+b`` or a comparison ``a-b``) involves only ``waves``."""
    if not waves or "wave" not in frame:
        return frame
    inside = [set(scope_waves(w)) <= waves for w in frame["wave"]]
    return frame[inside].reset_index(drop=True)


def values_text(changes: pd.DataFrame, old: Version, new: Version) -> str:
    """The changed values, one per line: table, cell, old → new, change in percentage points. Values that differ
    only in their last digits (:data:`NOISE_RELATIVE`) are counted, not listed."""
    noise = int(changes["noise"].sum()) if len(changes) else 0
    real = changes[~changes["noise"]] if len(changes) else changes
    tail = (
        f"{noise} further value(s) differ only in their last digits (relative difference at most "
        f"{NOISE_RELATIVE:g}: another machine's floating-point rounding), not listed.\n"
        if noise
        else ""
    )
    if real.empty:
        return f"No differences between {old.name} and {new.name}.\n" + tail
    lines = [f"{len(real)} value(s) differ between {old.name} and {new.name}:"]
    for row in real.itertuples(index=False):
        change = (
            "" if row.change_points is None or pd.isna(row.change_points) else f" ({row.change_points:+.4f} points)"
        )
        lines.append(
            f"  {row.table} [{row.cell}] {row.column}: {row.old or '(empty)'} → {row.new or '(empty)'}{change}"
        )
    return "\n".join(lines) + "\n" + tail


def verdicts_between(old: Version, new: Version, waves: set[str] | None = None) -> list[dict]:
    """The audit entries whose verdict differs between two versions (none when one has no audit), as
    :func:`~survey_audit.stages.verdicts.verdict_changes` gives them."""
    a, b = old.root / AUDIT_FILE, new.root / AUDIT_FILE
    if not (a.is_file() and b.is_file()):
        return []
    return verdict_changes(*(_within(_read(path), waves).to_dict("records") for path in (a, b)))


def table_summary(changes: pd.DataFrame) -> pd.DataFrame:
    """Per table (and for the tests and the audit): the cells (rows) with a real change, the values changed, and
    the largest change of a percentage in points; the largest changes first."""
    real = changes[~changes["noise"]]
    rows = []
    for table, part in real.groupby("table", sort=True):
        points = pd.to_numeric(part["change_points"], errors="coerce").abs()
        rows.append(
            dict(
                table=table,
                part=part["part"].iloc[0],
                cells=part["cell"].nunique(),
                values=len(part),
                largest_points=points.max() if points.notna().any() else float("nan"),
                file=part["cell"].iloc[0] == "(table)",
                status=part["new"].iloc[0] if part["cell"].iloc[0] == "(table)" else "",
            )
        )
    frame = pd.DataFrame(rows, columns=["table", "part", "cells", "values", "largest_points", "file", "status"])
    order = frame.assign(_points=frame["largest_points"].fillna(-1)).sort_values(
        ["_points", "table"], ascending=[False, True], kind="stable"
    )
    return order.drop(columns="_points").reset_index(drop=True)


def input_changes(old: Version, new: Version) -> list[str]:
    """What went in differently, from the two manifests: each input file whose sha256 differs (or that only one
    read), the configuration's hash, and the code (commit and library modules)."""
    manifests = []
    for version in (old, new):
        path = version.root / "manifest.json"
        manifests.append(json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None)
    if None in manifests:
        missing = [v.name for v, m in zip((old, new), manifests, strict=True) if m is None]
        return [f"(no manifest in {', '.join(missing)}: inputs cannot be compared)"]
    before, after = manifests
    lines = []
    # a manifest before v4 gives an input's sha256 alone, a later one with the jobs that read it
    a = {path: entry["sha256"] if isinstance(entry, dict) else entry for path, entry in before["inputs"].items()}
    b = {path: entry["sha256"] if isinstance(entry, dict) else entry for path, entry in after["inputs"].items()}
    for path in sorted(set(a) | set(b)):
        if a.get(path) != b.get(path):
            lines.append(f"{path}: {_short(a.get(path), 'not read')} → {_short(b.get(path), 'not read')}")
    if before["config_sha256"] != after["config_sha256"]:
        lines.append(
            f"configuration (config_sha256): {_short(before['config_sha256'])} → {_short(after['config_sha256'])}"
        )
    code_a, code_b = _code(old, before), _code(new, after)
    modules = {
        path
        for path in set(before["library_modules"]) | set(after["library_modules"])
        if before["library_modules"].get(path) != after["library_modules"].get(path)
    }
    if commit_text(code_a) != commit_text(code_b) or modules:
        lines.append(
            f"code: {commit_text(code_a)} → {commit_text(code_b)}; {len(modules)} library module(s) changed"
            + (
                f" ({_listed(sorted(m.removeprefix('workflow/').removeprefix('survey_audit/') for m in modules))})"
                if modules
                else ""
            )
        )
    return lines


def _code(version: Version, manifest: dict) -> dict:
    """The git state of a version: as its release recorded it when it was made, else as its run recorded it."""
    release = version.root / "release.json"
    if release.is_file():
        return json.loads(release.read_text(encoding="utf-8"))["code_version"]["git"]
    return manifest["code_version"]["git"]


def _listed(names: list[str], most: int = 8) -> str:
    """Names, comma-separated, the first ``most`` of a longer list and how many more."""
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _short(digest: str | None, missing: str = "none") -> str:
    return digest[:12] if digest else missing


def comparison_text(
    changes: pd.DataFrame, old: Version, new: Version, *, values: bool = False, waves: set[str] | None = None
) -> str:
    """What ``diff`` and ``verify`` print: verdict changes, a summary per table, the inputs whose hashes differ,
    then the values (with ``values``; else how many value lines were left out)."""
    lines = [f"Comparison of {old.name} and {new.name}" + (f" (waves {', '.join(sorted(waves))})" if waves else "")]
    verdicts = verdicts_between(old, new, waves)
    lines.append("")
    lines.append(
        f"1. Verdicts of published numbers: {len(verdicts) or 'none'} changed" + (":" if len(verdicts) else "")
    )
    lines += change_lines(verdicts)
    summary = table_summary(changes)
    lines.append("")
    lines.append(f"2. Tables: {len(summary) or 'none'} changed" + (":" if len(summary) else ""))
    for row in summary.itertuples(index=False):
        if row.file:
            lines.append(f"  {row.table}: {row.status}")
            continue
        largest = "" if pd.isna(row.largest_points) else f", largest change {row.largest_points:.2f} points"
        unit = "entr(ies)" if row.part == "audit" else "test(s)" if row.part == "test" else "cell(s)"
        lines.append(f"  {row.table}: {row.cells} {unit} changed ({row.values} value(s)){largest}")
    inputs = input_changes(old, new)
    lines.append("")
    lines.append(f"3. Inputs whose hashes differ: {len(inputs) or 'none'}" + (":" if inputs else ""))
    lines += [f"  {line}" for line in inputs]
    lines.append("")
    real = int((~changes["noise"]).sum()) if len(changes) else 0
    if values:
        lines.append("4. Values:")
        return "\n".join(lines) + "\n" + values_text(changes, old, new)
    noise = int(changes["noise"].sum()) if len(changes) else 0
    lines.append(
        f"4. Values: {real} value line(s) omitted"
        + (f" (and {noise} that differ only in their last digits)" if noise else "")
        + ("; --values shows them, --values FILE writes them to FILE" if real else "")
    )
    return "\n".join(lines) + "\n"


def verify(name: str, results: str | Path = "results") -> pd.DataFrame:
    """Compare the current results with a frozen release; raise VerificationError listing the differences."""
    release = resolve(name, results)
    current = resolve(CURRENT, results)
    changes = compare(release, current)
    real = changes[~changes["noise"]]
    if not real.empty:
        raise VerificationError(
            f"the current results differ from release '{name}' in {len(real)} value(s)",
            file=release.root,
            hint="see the list above; 'survey-audit diff' shows it again",
        )
    return changes
