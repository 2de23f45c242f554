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
as before; an entry present on one side only is listed as new or removed. An audit is a few hundred rows of text,
read as records (:func:`survey_audit.formats.read_csv_records`): the job needs neither pandas nor the audit's
arithmetic, and is the last of a run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .. import formats
from ..config.registry import DIFFERS, FAILS, HOLDS, REPRODUCED
from ..errors import VerificationError

PRIMARY = "primary"
ABSENT = "(no entry)"
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


def verdict_changes(old: list[dict], new: list[dict]) -> list[dict]:
    """The entries whose verdict differs between two audits (records read by column name), in entry order, each
    a record of its ``entry_id``, ``reliability``, ``old`` and ``new`` verdicts, and whether it ``stopped``: a
    primary entry that stopped reproducing."""
    stopped_from, stopped_to = {REPRODUCED, HOLDS}, {DIFFERS, FAILS}
    before = {row["entry_id"]: row for row in old}
    after = {row["entry_id"]: row for row in new}
    changes = []
    for entry in sorted(before.keys() | after.keys()):
        was = before[entry]["verdict"] if entry in before else ABSENT
        now = after[entry]["verdict"] if entry in after else ABSENT
        if was == now:
            continue
        reliability = (after.get(entry) or before[entry])["reliability"]
        stopped = reliability == PRIMARY and was in stopped_from and now in stopped_to
        changes.append(dict(entry_id=entry, reliability=reliability, old=was, new=now, stopped=stopped))
    return changes


def change_lines(changes: list[dict], indent: str = "  ") -> list[str]:
    """One line per changed verdict: ``t18-xyz [primary]: reproduced → differs``, marked when it stopped."""
    return [
        f"{indent}{c['entry_id']} [{c['reliability']}]: {c['old']} → {c['new']}"
        + ("  (stopped reproducing)" if c["stopped"] else "")
        for c in changes
    ]


def verdicts_text(changes: list[dict] | None, reference: str | None, fail: bool) -> str:
    """What the stage writes: the reference, the changed verdicts, and what a primary entry's stop did."""
    lines = ["Verdicts since the last release", "=" * 31]
    if changes is None:
        lines.append("No release of this kind of data to compare with: every verdict is new.")
        return "\n".join(lines) + "\n"
    lines.append(f"Compared with release {reference}.")
    if not changes:
        lines.append("No verdict changed.")
        return "\n".join(lines) + "\n"
    lines.append(f"{len(changes)} verdict(s) changed:")
    lines += change_lines(changes)
    stopped = sum(c["stopped"] for c in changes)
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
    current = formats.read_csv_records(audit)
    changes = name = None
    if reference:
        name = Path(reference[0]).parent.parent.name
        changes = verdict_changes(formats.read_csv_records(reference[0]), current)
    stopped = [c for c in changes or [] if c["stopped"]]
    if fail and stopped:
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
