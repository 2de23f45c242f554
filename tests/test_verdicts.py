"""The verdicts stage: which audit verdicts changed since the reference release, and the stop of the run when a
primary printed number stopped reproducing. Oracle: hand-made audits whose changes are known by construction."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from survey_audit.errors import VerificationError
from survey_audit.stages.verdicts import (
    check_verdicts,
    reference_release,
    releases_newest_first,
    verdict_changes,
)


def audit(**verdicts: str) -> list[dict]:
    """An audit with one record per entry (``name=verdict``; a name ending in _s is secondary); a column the
    stage does not know is there too, as an audit that gained columns has."""
    return [
        {"entry_id": e, "reliability": "secondary" if e.endswith("_s") else "primary", "ci_low": "1.0", "verdict": v}
        for e, v in verdicts.items()
    ]


def test_changes_and_which_of_them_stopped_reproducing():
    old = audit(a="reproduced", b="holds", c="reproduced", d="differs", e_s="reproduced", f="reproduced")
    new = audit(a="differs", b="fails", c="reproduced", d="reproduced", e_s="differs", g="reproduced")
    changes = verdict_changes(old, new)
    assert changes == [
        {"entry_id": "a", "reliability": "primary", "old": "reproduced", "new": "differs", "stopped": True},
        {"entry_id": "b", "reliability": "primary", "old": "holds", "new": "fails", "stopped": True},
        {"entry_id": "d", "reliability": "primary", "old": "differs", "new": "reproduced", "stopped": False},
        {"entry_id": "e_s", "reliability": "secondary", "old": "reproduced", "new": "differs", "stopped": False},
        {"entry_id": "f", "reliability": "primary", "old": "reproduced", "new": "(no entry)", "stopped": False},
        {"entry_id": "g", "reliability": "primary", "old": "(no entry)", "new": "reproduced", "stopped": False},
    ]


def release(results: Path, name: str, date: str, synthetic: bool, records: list[dict] | None = None) -> Path:
    root = results / "releases" / name
    (root / "audit").mkdir(parents=True)
    (root / "release.json").write_text(json.dumps({"name": name, "date": date, "synthetic": synthetic}))
    pd.DataFrame(records if records is not None else audit(a="reproduced")).to_csv(
        root / "audit" / "published.csv", index=False
    )
    changelog = results / "releases" / "CHANGELOG.md"
    previous = changelog.read_text() if changelog.is_file() else "# Releases\n"
    head, _, rest = previous.partition("\n## ")
    changelog.write_text(head + f"\n## {name} ({date})\n" + ("\n## " + rest if rest else ""))
    return root


def test_the_reference_is_the_newest_release_of_the_same_kind_of_data(tmp_path):
    results = tmp_path / "results"
    assert releases_newest_first(results) == [] and reference_release(results, True) is None
    release(results, "v1", "2026-12-06", True)
    release(results, "v2", "2026-12-06", True)  # same day: the changelog's order decides
    release(results, "real1", "2026-12-01", False)  # newest entry, an earlier date: the changelog still decides
    assert [p.name for p in releases_newest_first(results)] == ["real1", "v2", "v1"]
    assert reference_release(results, True).name == "v2"
    assert reference_release(results, False).name == "real1"


def run_stage(tmp_path, current: list[dict], reference: list[dict] | None, fail: bool) -> str:
    results = tmp_path / "results"
    (results / "audit").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(current).to_csv(results / "audit" / "published.csv", index=False)
    refs = []
    if reference is not None:
        refs = [str(release(results, "v1", "2026-12-06", True, reference) / "audit" / "published.csv")]
    out = results / "audit" / "verdicts.txt"
    check_verdicts(audit=str(results / "audit" / "published.csv"), reference=refs, fail=fail, report_out=str(out))
    return out.read_text()


def test_a_primary_entry_that_stopped_reproducing_stops_the_run(tmp_path):
    before = audit(a="reproduced", b_s="reproduced", c="holds")
    now = audit(a="differs", b_s="differs", c="holds")
    with pytest.raises(VerificationError) as caught:
        run_stage(tmp_path, now, before, fail=True)
    message = caught.value.message
    assert message.startswith("Verification failed in ")
    assert "1 primary printed number(s) stopped reproducing since release v1:" in message
    assert "a [primary]: reproduced → differs  (stopped reproducing)" in message
    assert "b_s" not in message  # a secondary entry never stops the run
    assert "fail_on_verdict_change: false" in message
    assert not (tmp_path / "results" / "audit" / "verdicts.txt").exists()


def test_with_the_check_off_the_changes_are_listed_and_the_run_goes_on(tmp_path):
    text = run_stage(tmp_path, audit(a="differs", c="holds"), audit(a="reproduced", c="holds"), fail=False)
    assert "Compared with release v1." in text
    assert "  a [primary]: reproduced → differs  (stopped reproducing)" in text
    assert "1 primary entry stopped reproducing; audit.fail_on_verdict_change is false, so the run goes on." in text


def test_nothing_changed_and_nothing_to_compare_with(tmp_path):
    same = audit(a="reproduced", c="holds")
    assert "No verdict changed." in run_stage(tmp_path / "one", same, same, fail=True)
    assert "No release of this kind of data to compare with" in run_stage(tmp_path / "two", same, None, fail=True)
