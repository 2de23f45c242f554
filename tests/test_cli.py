"""The survey-audit command line: every form in which the README passes arguments to Snakemake reaches it
intact. Oracle: Snakemake's own dry-run plan for each form; for `ingest`, the workflow's own path (the plan's
per-wave variables, the ingest and clean stages)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import bundled_plan
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
    for rule in (
        "ingest", "clean", "weight", "tabulate", "associations", "families", "suppress", "publish", "audit", "report",
        "manifest",
    ):  # fmt: skip
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


def test_ingest_resolves_the_waves_variables_as_the_workflow_does(root, tmp_path, monkeypatch, capsys):
    """`survey-audit ingest RAW --codebook CB`, typed in the project directory: the fielding bounds of ranges such
    as [1960, fielded_to] come from the wave sheet, as in the workflow. Oracle: the workflow's own path (the
    plan's per-wave variables file, then the ingest and clean stages) gives byte-identical outputs."""
    from survey_audit.config.plan import write_plan
    from survey_audit.config.settings import load_config
    from survey_audit.stages.clean import clean_wave
    from survey_audit.stages.ingest import ingest_wave

    monkeypatch.chdir(root)
    out = tmp_path / "check"
    raw, codebook = "resources/synthetic/wave1.csv", "config/codebooks/wave1.yaml"
    assert main(["ingest", raw, "--codebook", codebook, "--out", str(out)]) == 0
    assert "wave1: 129 raw responses, 115 analysed" in capsys.readouterr().out
    write_plan(bundled_plan(), tmp_path / "plan")
    variables, expected = str(tmp_path / "plan" / "wave1.variables.yaml"), tmp_path / "workflow"
    cleaning = load_config("config/config.yaml")["cleaning"]
    common = {"codebook": codebook, "variables": variables, "wave": "wave1", "cleaning_defaults": cleaning}
    ingested = {k: expected / f"wave1.{k}" for k in ("ingest.parquet", "findings.csv", "summary.json")}
    ingest_wave(raw=raw, **common, respondents_out=ingested["ingest.parquet"], findings_out=ingested["findings.csv"],
                summary_out=ingested["summary.json"])  # fmt: skip
    outputs = {k: expected / f"wave1.{k}" for k in ("parquet", "log.csv", "quarantine.csv", "flow.csv", "actions.csv")}
    clean_wave(respondents=str(ingested["ingest.parquet"]), findings=str(ingested["findings.csv"]), **common,
               analysed_out=outputs["parquet"], log_out=outputs["log.csv"], quarantine_out=outputs["quarantine.csv"],
               flow_out=outputs["flow.csv"], actions_out=outputs["actions.csv"])  # fmt: skip
    for name, path in {**ingested, **outputs}.items():
        assert (out / f"wave1.{name}").read_bytes() == path.read_bytes(), name
    assert (out / "wave1.variables.yaml").read_bytes() == (tmp_path / "plan" / "wave1.variables.yaml").read_bytes()


def test_ingest_of_a_wave_the_sheet_does_not_list_says_its_fielding_years_are_unknown(
    root, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(root)
    codebook = tmp_path / "wave9.yaml"
    text = (root / "config" / "codebooks" / "wave1.yaml").read_text(encoding="utf-8")
    codebook.write_text(text.replace("wave: wave1", "wave: wave9", 1), encoding="utf-8")
    raw = "resources/synthetic/wave1.csv"
    assert main(["ingest", raw, "--codebook", str(codebook), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        "Configuration problem in config/waves.tsv: wave 'wave9' is not in the wave sheet, so its fielding years,"
        " where ranges such as [1960, fielded_to] end, are unknown"
    )
    assert not (tmp_path / "out").exists()
