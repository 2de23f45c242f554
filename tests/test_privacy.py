"""Nothing raw leaves the intake: the identifiers and free-text answers of the raw exports reach no file the
workflow writes (results/, Snakemake's .snakemake/ logs and state) nor its terminal output, after a run that
succeeds and after one that fails; and real exports have a home that git ignores.

The oracle is the raw export itself: every value of its identifying columns (names, e-mail, IP address,
platform ids, external references, the organisation's participant code) and of its free-text column is
searched for, byte for byte, in every file (for Parquet, in every text cell; for an Excel workbook, in every
part of it)."""

from __future__ import annotations

import csv
import subprocess
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from test_workflow import copy_project, snakemake

ROOT = Path(__file__).resolve().parents[1]
# The synthetic stand-in's identifying and free-text columns (config/codebooks/wave*.yaml drop or pseudonymise
# them at ingest). Coordinates are left out: a bare decimal could match an estimate by chance.
SECRET_COLUMNS = [
    "IPAddress", "RecipientLastName", "RecipientFirstName", "RecipientEmail", "ExternalReference", "ResponseId",
    "Q2", "Q5_4_TEXT",
]  # fmt: skip


def secrets(project: Path) -> set[str]:
    found: set[str] = set()
    for path in sorted((project / "resources" / "synthetic").glob("wave*.csv")):
        raw = pd.read_csv(path, skiprows=[1, 2], dtype=str, keep_default_na=False)
        for column in SECRET_COLUMNS:
            if column in raw:
                found |= {v for v in raw[column] if len(v) >= 6}
    return found


def leaks(project: Path, text: str, values: set[str]) -> list[str]:
    """The secrets found in ``text`` and in every file under results/ and .snakemake/."""
    found = [f"terminal: {v}" for v in values if v in text]
    for folder in ("results", ".snakemake"):
        for path in sorted((project / folder).rglob("*")):
            if not path.is_file() or "conda" in path.parts:
                continue
            if path.suffix == ".parquet":
                frame = pd.read_parquet(path)
                cells = {
                    str(v)
                    for c in frame.columns
                    if frame[c].dtype.kind in "OSUT" or str(frame[c].dtype) in ("category", "string", "str")
                    for v in frame[c].dropna().unique()
                }
                found += [f"{path.relative_to(project)}: {v}" for v in values if v in cells]
            else:
                data = path.read_bytes()
                if path.suffix == ".xlsx":  # a zip of XML parts: search what it holds, not the compressed bytes
                    with zipfile.ZipFile(path) as archive:
                        data = b"".join(archive.read(name) for name in archive.namelist())
                found += [f"{path.relative_to(project)}: {v}" for v in values if v.encode("utf-8") in data]
    return found


def test_real_exports_have_a_home_git_ignores():
    for path in ("data/wave1.sav", "data/real/wave2.csv"):
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0, path
    tracked = subprocess.run(["git", "check-ignore", "-q", "data/README.md"], cwd=ROOT)
    assert tracked.returncode == 1  # the folder's README is tracked, and says what goes there
    sheet = pd.read_csv(ROOT / "config" / "waves.tsv", sep="\t", dtype=str)
    assert sheet["raw"].str.startswith("resources/synthetic/").all()  # resources/ holds the stand-ins only
    assert (sheet["synthetic"] == "yes").all()


@pytest.mark.integration
def test_no_identifier_or_free_text_reaches_any_output_or_log(tmp_path):
    project = copy_project(ROOT, tmp_path)
    values = secrets(project)
    assert len(values) > 700  # names, e-mails, ids and free text of both waves
    done = snakemake(project, "--cores", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert leaks(project, done.stdout + done.stderr, values) == []

    # A failing run: a row of wave 1 holds a gender code its codebook does not know, beside its identifiers.
    raw = project / "resources" / "synthetic" / "wave1.csv"
    with raw.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[10][rows[0].index("Q4")] = "7"
    with raw.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    failed = snakemake(project, "--cores", "2")
    assert failed.returncode != 0
    assert "Q4" in failed.stdout + failed.stderr  # the message names the column ...
    assert leaks(project, failed.stdout + failed.stderr, values) == []  # ... and no identifier of the row
