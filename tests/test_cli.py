"""The survey-audit command line: every form in which the README passes arguments to Snakemake reaches it
intact. Oracle: Snakemake's own dry-run plan for each form."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from survey_audit import __version__
from survey_audit.cli import main, snakemake_arguments


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exit:
        assert exit.code == 0
    assert capsys.readouterr().out.strip() == f"survey-audit {__version__}"


def test_run_passes_extra_arguments_to_snakemake_verbatim(root):
    arguments = snakemake_arguments(root, ["--cores", "1", "-R", "manifest"])
    assert arguments[:1] == ["--workflow-profile"] and arguments[-4:] == ["--cores", "1", "-R", "manifest"]


def run(root, *arguments):
    return subprocess.run(
        [sys.executable, "-m", "survey_audit.cli", "run", *arguments],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root / "workflow")},
    )


def planned(done) -> dict[str, int]:
    text = done.stdout + done.stderr
    assert done.returncode == 0, text[-3000:]
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:")[1].split("Reasons:")[0] if "Reasons:" in text else text.split("Job stats:")[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m.group(1) != "total"}


def test_run_dry_run_plans_the_whole_chain(root):
    jobs = planned(run(root, "-n", "--forceall"))
    for rule in ("ingest", "clean", "weight", "tabulate", "associations", "publish", "audit", "report", "manifest"):
        assert rule in jobs


@pytest.mark.parametrize(
    "arguments",
    [["--cores", "1"], ["-c1"], ["--cores=1"], ["-c", "1"]],
    ids=["--cores 1", "-c1", "--cores=1", "-c 1"],
)
def test_core_counts_in_every_form(root, arguments):
    planned(run(root, "-n", *arguments))


@pytest.mark.parametrize("option", ["--forcerun", "-R"])
def test_a_rule_to_rerun_keeps_its_value(root, option):
    jobs = planned(run(root, "-n", option, "manifest"))
    assert jobs.get("manifest") == 1  # the value stayed with its option: the manifest is planned


def test_a_target_and_a_config_override(root, tmp_path):
    sheet = root / "results" / "internal" / "waves-copy.tsv"
    sheet.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "config" / "waves.tsv", sheet)
    try:
        # Snakemake reads every word after --forcerun or --config as one of its values: a target goes first.
        target, override = "results/audit/published.csv", f"waves={sheet.relative_to(root)}"
        jobs = planned(run(root, target, "-n", "--forcerun", "audit", "--config", override))
        assert jobs.get("audit") == 1 and "manifest" not in jobs  # only what the target needs
    finally:
        sheet.unlink()
