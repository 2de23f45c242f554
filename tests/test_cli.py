"""The survey-audit command line."""

from __future__ import annotations

import subprocess
import sys

from survey_audit import __version__
from survey_audit.cli import main, snakemake_command


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exit:
        assert exit.code == 0
    assert capsys.readouterr().out.strip() == f"survey-audit {__version__}"


def test_run_passes_extra_arguments_to_snakemake(root):
    command = snakemake_command(root, ["-n", "--quiet"])
    assert command[1:3] == ["-m", "snakemake"]
    assert command[-2:] == ["-n", "--quiet"]
    assert "--workflow-profile" in command


def test_run_dry_run_plans_the_whole_chain(root):
    done = subprocess.run(
        [sys.executable, "-m", "survey_audit.cli", "run", "-n", "--forceall"],
        cwd=root,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "PYTHONPATH": str(root / "workflow")},
    )
    assert done.returncode == 0, done.stderr
    for rule in ("ingest", "clean", "weight", "tabulate", "test", "publish", "audit", "manifest"):
        assert rule in done.stdout + done.stderr
