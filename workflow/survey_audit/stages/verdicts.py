"""The verdicts stage: which printed numbers changed verdict since the last release, and whether a primary one
stopped reproducing.

A change of code, configuration or data can move an audit verdict. This stage compares the public audit of the
run (``results/audit/published.csv``) with the audit of a reference release and lists every entry whose verdict
changed, old → new. The reference is the latest release (:func:`releases_newest_first`: the order of
``results/releases/CHANGELOG.md``, newest first) made from the same kind of data as the run, the synthetic
stand-in or real responses: a first run on real data is not measured against the synthetic releases. Without
one (a first run), nothing is compared and the stage says so.

An entry of reliability ``primary`` whose verdict went from ``reproduced`` or ``holds`` to ``differs`` or
``fails`` has *stopped reproducing*. With ``audit.fail_on_verdict_change`` (true unless the configuration says
otherwise) the job then fails, naming each such entry: Snakemake exits non-zero and the run's results are marked
stale (``results/STALE``, "the last run failed at rule verdicts"), so ``survey-audit release`` refuses them.
The job runs after every other (the manifest is its input), so the results themselves are complete and ``diff``
shows what moved. Fix the cause, or accept the change by setting the key to false; the next release then
becomes the reference. Secondary and disputed entries, and any other change of verdict, are listed, never fatal.

Entries are matched by ``entry_id`` and verdicts read by column name, so an audit that gains columns compares
as before; an entry present on one side only is listed as new or removed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from .. import formats
from ..errors import VerificationError

PRIMARY = "primary"
ABSENT = "(no entry)"
CHANGE_COLUMNS = ["entry_id", "reliability", "old", "new", "stopped"]
AUDIT_FILE = Path("audit") / "published.csv"  # a version's public audit, relative to its root
_HEADING = re.compile(r"^## (\S+)", re.M)


def releases_newest_first(results: str | Path = "results") -> list[Path]:
    """The release directories under ``results/releases``, newest first: in the changelog's order (each release
    puts its entry on top), then any release the changelog does not list, by date and name."""
    root = Path(results) / "releases"
    made = {p.parent.name: p.parent for p in root.glob("*/release.json")}
    changelog = root / "CHANGELOG.md"
    listed = _HEADING.findall(changelog.read_text(encoding="utf-8")) if changelog.is_file() else []
    ordered = [made[name] for name in dict.fromkeys(listed) if name in made]
    rest = sorted(
        (p for name, p in made.items() if name not in listed),
        key=lambda p: (json.loads((p / "release.json").read_text(encoding="utf-8"))["date"], p.name),
        reverse=True,
    )
    return ordered + rest


def reference_release(results: str | Path, synthetic: bool) -> Path | None:
    """The release a run's verdicts are compared with: the newest made from the same kind of data."""
    for release in releases_newest_first(results):
        metadata = json.loads((release / "release.json").read_text(encoding="utf-8"))
        if bool(metadata.get("synthetic")) == synthetic and (release / AUDIT_FILE).is_file():
            return release
    return None


def verdict_changes(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """The entries whose verdict differs between two audits (read by column name), in entry order, with
    whether each is a primary entry that stopped reproducing."""
    from .audit import DIFFERS, FAILS, HOLDS, REPRODUCED

    stopped_from, stopped_to = {REPRODUCED, HOLDS}, {DIFFERS, FAILS}
    before = old.set_index("entry_id")[["reliability", "verdict"]]
    after = new.set_index("entry_id")[["reliability", "verdict"]]
    rows = []
    for entry in sorted(set(before.index) | set(after.index)):
        was = before["verdict"].get(entry, ABSENT)
        now = after["verdict"].get(entry, ABSENT)
        if was == now:
            continue
        reliability = after["reliability"].get(entry, before["reliability"].get(entry, ""))
        stopped = reliability == PRIMARY and was in stopped_from and now in stopped_to
        rows.append(dict(entry_id=entry, reliability=reliability, old=was, new=now, stopped=stopped))
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS).astype({"stopped": bool})


def change_lines(changes: pd.DataFrame, indent: str = "  ") -> list[str]:
    """One line per changed verdict: ``t18-xyz [primary]: reproduced → differs``, marked when it stopped."""
    return [
        f"{indent}{r.entry_id} [{r.reliability}]: {r.old} → {r.new}" + ("  (stopped reproducing)" if r.stopped else "")
        for r in changes.itertuples(index=False)
    ]


def verdicts_text(changes: pd.DataFrame | None, reference: str | None, fail: bool) -> str:
    """What the stage writes: the reference, the changed verdicts, and what a primary entry's stop did."""
    lines = ["Verdicts since the last release", "=" * 31]
    if changes is None:
        lines.append("No release of this kind of data to compare with: every verdict is new.")
        return "\n".join(lines) + "\n"
    lines.append(f"Compared with release {reference}.")
    if changes.empty:
        lines.append("No verdict changed.")
        return "\n".join(lines) + "\n"
    lines.append(f"{len(changes)} verdict(s) changed:")
    lines += change_lines(changes)
    stopped = int(changes["stopped"].sum())
    if stopped and not fail:
        lines.append(
            f"{stopped} primary entr{'y' if stopped == 1 else 'ies'} stopped reproducing; "
            "audit.fail_on_verdict_change is false, so the run goes on."
        )
    return "\n".join(lines) + "\n"


def check_verdicts(*, audit: str, reference: list[str], fail: bool, report_out: str) -> None:
    """Stage function: compare the run's public audit with the reference release's (``reference``: its
    ``audit/published.csv``, or nothing), write the changes to ``report_out``, and fail when a primary entry
    stopped reproducing and ``fail`` is set."""
    current = formats.read_csv(audit, dtype=str, keep_default_na=False)
    changes = name = None
    if reference:
        name = Path(reference[0]).parent.parent.name
        changes = verdict_changes(formats.read_csv(reference[0], dtype=str, keep_default_na=False), current)
    stopped = changes[changes["stopped"]] if changes is not None else None
    if fail and stopped is not None and not stopped.empty:
        raise VerificationError(
            f"{len(stopped)} primary printed number(s) stopped reproducing since release {name}:\n"
            + "\n".join(change_lines(stopped, indent="    ")),
            file=audit,
            expected="every primary entry that release reproduced (or found to hold) still reproducing",
            hint="find the change that moved them (survey-audit diff "
            f"{name} shows what changed, verdicts first), fix it, or accept it by setting "
            "audit: fail_on_verdict_change: false in config/config.yaml",
        )
    formats.write_text(verdicts_text(changes, name, fail), report_out)
