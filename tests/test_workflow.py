"""The whole workflow, run end to end in a temporary copy of the project, with its outputs checked."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import copy_project, snakemake
from survey_audit.provenance import sha256_file

pytestmark = pytest.mark.integration


def planned_jobs(result: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule → job count from a dry run's 'Job stats' table."""
    text = result.stdout + result.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:")[1].split("Reasons:")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m.group(1) != "total"}


@pytest.fixture(scope="module")
def project(workflow_run):
    """The bundled workflow's run (shared with the other tests that read its outputs; see conftest)."""
    return workflow_run


def waves(project: Path) -> pd.DataFrame:
    return pd.read_csv(project / "config" / "waves.tsv", sep="\t", dtype=str)


def test_every_contract_output_exists(project):
    for wave in waves(project)["wave"]:
        for part in ("parquet", "log.csv", "quarantine.csv", "flow.csv"):
            assert (project / "results" / "clean" / f"{wave}.{part}").is_file()
        assert (project / "results" / "weights" / f"{wave}.parquet").is_file()
    for name in ("tests.csv", "audit/published.csv", "manifest.json"):
        assert (project / "results" / name).is_file()
    assert list((project / "results" / "tables").glob("*.csv"))


def test_rows_are_conserved_through_cleaning(project):
    for wave in waves(project)["wave"]:
        flow = pd.read_csv(project / "results" / "clean" / f"{wave}.flow.csv")
        quarantine = pd.read_csv(project / "results" / "clean" / f"{wave}.quarantine.csv")
        analysed = pd.read_parquet(project / "results" / "clean" / f"{wave}.parquet")
        raw_rows = flow["remaining"].iloc[0]
        assert raw_rows == len(analysed) + len(quarantine)
        assert flow["remaining"].iloc[-1] == len(analysed)
        assert quarantine["source_row"].is_unique


def test_table_percentages_are_their_counts_over_their_bases(project):
    kinds = set()
    for path in (project / "results" / "tables").glob("*.csv"):
        table = pd.read_csv(path)
        assert {"wave", "domain", "variable", "category", "n", "base_n"} <= set(table.columns)
        if "pct" not in table:  # a mean or sample table, with no percentages
            kinds.add("mean" if "mean" in table else "sample")
            assert not {"pct_se", "pct_ci_low", "pct_ci_high"} & set(table.columns), path.name
            continue
        kinds.add("proportions")
        assert {"pct_se", "pct_ci_low", "pct_ci_high", "deff", "n_eff", "df", "flags"} <= set(table.columns)
        assert "mean" not in table, path.name
        unweighted = table[(table["weighting"] == "unweighted") & (table["base_n"] > 0) & table["pct"].notna()]
        assert ((unweighted["pct"] - 100 * unweighted["n"] / unweighted["base_n"]).abs() < 1e-5).all(), path.name
        assert (table["synthetic"]).all()
    assert kinds == {"proportions", "mean", "sample"}


def test_weights_line_up_with_analysed_respondents(project):
    for wave in waves(project)["wave"]:
        analysed = pd.read_parquet(project / "results" / "clean" / f"{wave}.parquet")
        weights = pd.read_parquet(project / "results" / "weights" / f"{wave}.parquet")
        assert list(weights["respondent_id"]) == list(analysed["respondent_id"])
        assert (weights["weight"] > 0).all()


def registry_entries(project: Path) -> list[dict]:
    import yaml

    config = yaml.safe_load((project / "config" / "config.yaml").read_text())
    return [e for p in config["published"] for e in yaml.safe_load((project / p).read_text())["entries"]]


def test_tests_are_adjusted_within_their_families(project):
    tests = pd.read_csv(
        project / "results" / "internal" / "tests.csv",
        keep_default_na=False,
        na_values={"p_adjusted": [""], "p": [""]},
    )
    assert tests["test_id"].is_unique
    assert tests["p"].dropna().between(0, 1).all()
    adjusted = tests[tests["adjustment"] != "none"]
    assert set(adjusted["test"]) == {"F", "trend", "wave_difference", "model"}
    assert (adjusted["p_adjusted"] >= adjusted["p"] - 1e-15).all()
    assert set(adjusted.groupby("family")["adjustment"].first().items()) == {("claims", "holm"), ("exploratory", "bh")}
    # the claims family holds exactly the tests the registries' claims name
    cited = {e["claim"]["test"] for e in registry_entries(project) if e["claim"].get("test")}
    assert set(tests.loc[tests["family"] == "claims", "test_id"]) == cited


def test_audit_of_the_bundled_waves(project):
    audit = pd.read_csv(project / "results" / "audit" / "published.csv", keep_default_na=False).set_index("entry_id")
    entries = registry_entries(project)
    assert sorted(audit.index) == sorted(e["id"] for e in entries)
    for entry in entries:
        verdict = audit.loc[entry["id"], "verdict"]
        kind = entry["claim"]["type"]
        if entry["reliability"] == "disputed":
            assert verdict == "differs" and "conflicts with" in audit.loc[entry["id"], "note"], entry["id"]
        elif kind in ("percentage", "one_in", "count", "mean"):
            assert verdict == ("reproduced" if entry["value"] is not None else "not transcribed"), entry["id"]
        else:
            assert verdict == "holds", entry["id"]
    # one row answers: a percentage carries its interval around it, and a withheld cell none of its numbers
    withheld = audit["flags"].str.startswith("cell suppressed")
    for column in ("recomputed", "recomputed_display", "ci_low", "ci_high", "difference"):
        assert (audit.loc[withheld, column] == "").all(), column
    shown = audit[~withheld & (audit["claim"] == "percentage") & (audit["recomputed"] != "")]
    assert len(shown) and (shown["ci_method"] != "").all()
    low, value, high = (shown[c].astype(float) for c in ("ci_low", "recomputed", "ci_high"))
    assert ((low <= value) & (value <= high)).all()
    # "highly correlated with more buyers per day, regardless of geographic location" rests on the model of
    # buyers per day on advertised online and region, and its row says so
    ads = audit.loc["t18-online-ads-more-buyers"]
    model = "buyers_per_day_mean_by_online_ads:wave2:model"
    assert (ads["verdict"], ads["table_id"], ads["table_file"]) == ("holds", model, "results/tests.csv")
    assert f"test {model}: design-based Wald F(1, 19) of relevel(advertised_online" in ads["note"]
    assert (
        'in svyglm(buyers_per_day ~ relevel(advertised_online, ref = "no") + region, family = gaussian)' in ads["note"]
    )
    assert "direction: positive (coefficient +" in ads["note"]
    tests = pd.read_csv(project / "results" / "tests.csv", keep_default_na=False).set_index("test_id")
    # in the claims family; its base (259 of wave 2's 260 respondents answered buyers per day and advertising) is
    # withheld, since it would give back the one respondent it leaves out
    assert (tests.loc[model, "family"], tests.loc[model, "adjustment"], tests.loc[model, "n"]) == (
        "claims",
        "holm",
        "",
    )
    summary = (project / "results" / "audit" / "summary.txt").read_text()
    assert "DATA ARE SYNTHETIC: these verdicts check the pipeline, not the report." in summary
    assert summary in (project / "run.log").read_text()


def test_manifest_hashes_every_output_and_traces_it_to_data_config_and_code(project):
    manifest = json.loads((project / "results" / "manifest.json").read_text())
    assert manifest["synthetic"] is True
    for path, entry in manifest["inputs"].items():
        assert sha256_file(project / path) == entry["sha256"], path
    # each file is hashed as the jobs that read it saw it; the configuration only the start of the run parses is
    # read by the manifest job itself
    assert manifest["inputs"]["resources/synthetic/wave2.csv"]["read_by"] == ["ingest (wave=wave2)"]
    assert manifest["inputs"]["config/codebooks/wave2.yaml"]["read_by"] == ["clean (wave=wave2)", "ingest (wave=wave2)"]
    assert manifest["inputs"]["config/config.yaml"]["read_by"] == ["manifest"]
    assert "workflow/schemas/codebook.schema.yaml" in manifest["library_modules"]
    for path, entry in manifest["outputs"].items():
        assert sha256_file(project / path) == entry["sha256"], path
    assert {"pandas", "numpy", "scipy", "snakemake"} <= set(manifest["packages"])
    # a public table leads back, job by job, to the raw export, its codebook and the cleaning configuration
    outputs = manifest["outputs"]
    table = outputs["results/tables/gender.csv"]
    assert table["rule"] == "publish" and "workflow/survey_audit/stages/publish.py" in table["modules"]
    cells = outputs["results/internal/cells/wave2.parquet"]
    assert cells["inputs"]["analysed"] == {
        "results/clean/wave2.parquet": outputs["results/clean/wave2.parquet"]["sha256"]
    }
    clean = outputs["results/clean/wave2.parquet"]
    assert clean["config"]["cleaning"]["completeness"]["min_share_answered"] == 0.5
    ingest = outputs[next(iter(clean["inputs"]["respondents"]))]
    assert ingest["inputs"]["raw"] == {
        "resources/synthetic/wave2.csv": manifest["inputs"]["resources/synthetic/wave2.csv"]["sha256"]
    }
    assert all(not entry["inputs_not_read"] and not entry["reads_not_declared"] for entry in outputs.values())


def test_the_workbook_withholds_what_the_tables_withhold_and_prints_what_they_print(project):
    """Oracle: the public CSVs. Every table has a sheet; a number the CSV prints is the sheet's number, a number a
    suppressed row leaves blank is [c], and nothing else is."""
    workbook = project / "results" / "report" / "tables.xlsx"
    contents = pd.read_excel(workbook, sheet_name="Contents", header=3)
    sheets = dict(zip(contents["From"], contents["Sheet"]))
    tables = sorted((project / "results" / "tables").glob("*.csv"))
    assert {f"results/tables/{p.name}" for p in tables} <= set(sheets)
    withheld = 0
    for path in tables:
        csv = pd.read_csv(path, dtype={"flags": str}, keep_default_na=False, na_values={"n": [""], "base_n": [""]})
        sheet = pd.read_excel(workbook, sheet_name=sheets[f"results/tables/{path.name}"], header=2)
        assert len(sheet) == len(csv), path.name
        suppressed = csv["flags"].str.contains("suppressed")
        for column, shown in (("n", "n"), ("base_n", "Base")):
            expected = [
                "[c]" if pd.isna(v) and s else None if pd.isna(v) else v for v, s in zip(csv[column], suppressed)
            ]
            got = [None if isinstance(v, float) and pd.isna(v) else v for v in sheet[shown]]
            assert got == expected, (path.name, column)
            withheld += expected.count("[c]")
    assert withheld > 0  # the bundled run withholds counts, so the comparison above saw some


def report_data(html: str, name: str) -> dict:
    """A JSON object the Snakemake report embeds in a script of its own (``results``, ``categories``)."""
    marker = f'<script id="{name}">\n    var {name} = '
    start = html.index(marker) + len(marker)
    return json.JSONDecoder().raw_decode(html, start)[0]


def test_snakemake_report_shows_the_audit_the_tables_and_the_report_with_captions(project, tmp_path):
    out = tmp_path / "snakemake-report.html"
    result = snakemake(project, "--report", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    html = out.read_text(encoding="utf-8")
    results, categories = report_data(html, "results"), report_data(html, "categories")
    assert set(categories) == {"Audit", "Report", "Tables", "Tests"}
    tables = sorted(f"results/tables/{p.name}" for p in (project / "results" / "tables").glob("*.csv"))
    assert sorted(path for chapter in categories["Tables"].values() for path in chapter) == tables
    assert results["results/tables/gender.csv"]["labels"] == {"table": "gender", "title": "Gender identity"}

    def embedded(path: str) -> bytes:
        return base64.b64decode(results[path]["data_uri"].split("base64,", 1)[1])

    audit = results["results/audit/published.csv"]
    assert "one row per number the 2015 and 2018 reports printed" in audit["caption"]
    assert embedded("results/audit/published.csv") == (project / "results" / "audit" / "published.csv").read_bytes()
    page = results["results/report/index.html"]
    assert "The reviewer's report" in page["caption"]
    assert embedded("results/report/index.html").count(b"<svg") >= 1  # the figures, inline in the report
    assert "Excel workbook" in results["results/report/tables.xlsx"]["caption"]
    assert "Start with <strong>Audit</strong>" in html  # the workflow's description


def test_snakemake_report_needs_only_the_declared_dependencies():
    """``snakemake --report`` imports pygments, which Snakemake does not require: the project declares it."""
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert any(d.startswith("pygments") for d in pyproject["project"]["dependencies"])


def sensitive_values(project: Path) -> set[str]:
    """Raw identifiers, contact details, locations, platform metadata and free-text answers of the bundled
    exports, as their codebooks name them."""
    import yaml

    from survey_audit.intake.readers import read_raw

    values: set[str] = set()
    for record in waves(project).to_dict("records"):
        book = yaml.safe_load((project / record["codebook"]).read_text())
        raw = read_raw(project / record["raw"]).frame
        free_text = [
            m["column"] for name, m in book["variables"].items() if name in ("other_specify", "final_comments")
        ]
        columns = [book["respondent_id"], *free_text]
        columns += [
            c for c, reason in book["drop"].items() if reason in ("identifier", "contact", "location", "free text")
        ]
        metadata = [c for c, reason in book["drop"].items() if reason == "metadata"]
        for column in columns:
            values |= {v for v in raw[column] if v.strip()}
        for column in metadata:  # short metadata values ("1", "EN") are not identifying and may occur by chance
            values |= {v for v in raw[column] if len(v) >= 8}
    return values


def test_no_identifier_or_free_text_reaches_results(project):
    secrets = sensitive_values(project)
    texts = []
    for path in (project / "results").rglob("*"):
        if path.suffix == ".parquet":
            texts.append(pd.read_parquet(path).astype(str).to_csv())
        elif path.is_file():
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    blob = "\n".join(texts)
    assert len(secrets) > 500
    leaked = sorted(s for s in secrets if s in blob)
    assert not leaked, leaked[:10]


def test_a_failed_run_leaves_the_results_stale_until_a_run_succeeds(project, tmp_path):
    copy = tmp_path / "project"
    shutil.copytree(project, copy, symlinks=True)
    report = copy / "results" / "report" / "index.html"
    written = report.read_bytes()
    # a broken input of the audit stage (its code), after a run that succeeded
    audit = copy / "workflow" / "survey_audit" / "stages" / "audit.py"
    source = audit.read_text()
    audit.write_text(source + "\n\ndef audit_tables(**arguments):\n    raise RuntimeError('broken by the test')\n")
    failed = survey_audit(copy, "run")
    assert failed.returncode == 1, failed.stderr[-3000:]
    assert (copy / "results" / "STALE").read_text() == "the last run failed at rule audit\n"
    assert failed.stderr.rstrip().endswith(
        "survey-audit: the results are stale (results/STALE): the last run failed at rule audit"
    )
    assert "THESE RESULTS ARE STALE <span>— the last run failed at rule audit." in report.read_text()
    refused = survey_audit(copy, "release", "v9", "--no-run")
    assert refused.returncode == 2
    assert "the current results are stale: the last run failed at rule audit" in refused.stderr
    assert not (copy / "results" / "releases" / "v9").exists()
    audit.write_text(source)  # fixed
    fixed = survey_audit(copy, "run")
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    assert not (copy / "results" / "STALE").exists() and "stale" not in fixed.stderr
    assert report.read_bytes() == written


def lock_as_a_killed_run_leaves_it(project: Path) -> Path:
    """Snakemake's lock files as a killed run leaves them: the files it read and those it was writing."""
    locks = project / ".snakemake" / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    (locks / "0.input.lock").write_text("config/config.yaml\nresults/internal/tests.csv\n")
    (locks / "0.output.lock").write_text("results/report/index.html\nresults/manifest.json\n")
    return locks


def test_a_lock_left_by_a_killed_run_does_not_block_the_next_run(project, tmp_path):
    copy = tmp_path / "project"
    shutil.copytree(project, copy, symlinks=True)
    locks = lock_as_a_killed_run_leaves_it(copy)
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()
    (copy / ".snakemake" / "survey-audit" / "run.pid").write_text(f"{killed.pid} -\n")
    blocked = snakemake(copy, "--cores", "1")
    assert blocked.returncode == 1 and "Directory cannot be locked" in blocked.stderr
    done = survey_audit(copy, "run")
    assert done.returncode == 0, done.stderr[-3000:]
    assert [line for line in done.stderr.splitlines() if line.startswith("survey-audit:")] == [
        "survey-audit: Snakemake's lock was left by a run that is no longer running "
        f"(process {killed.pid}); unlocked it"
    ]
    assert "Nothing to be done" in done.stdout + done.stderr
    assert not locks.exists() and not (copy / ".snakemake" / "survey-audit" / "run.pid").exists()


def test_a_run_refuses_while_another_works_in_the_project(tmp_path, request):
    from survey_audit.cli import _started

    project = copy_project(Path(request.config.rootpath), tmp_path)
    locks = lock_as_a_killed_run_leaves_it(project)
    record = project / ".snakemake" / "survey-audit" / "run.pid"
    record.parent.mkdir(parents=True)
    record.write_text(f"{os.getpid()} {_started(os.getpid())}\n")  # this test's process: alive
    done = survey_audit(project, "run")
    assert done.returncode == 1
    assert done.stderr == (
        f"survey-audit: another run of this project is in progress (process {os.getpid()}); wait for it to finish\n"
    )
    assert sorted(p.name for p in locks.iterdir()) == ["0.input.lock", "0.output.lock"]
    assert record.read_text() == f"{os.getpid()} {_started(os.getpid())}\n" and not (project / "results").exists()
    # without a record, a Snakemake process working in the directory (a job of a killed run) holds it too
    record.unlink()
    job = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "snakemake"], cwd=project)
    try:
        done = survey_audit(project, "run")
    finally:
        job.kill()
        job.wait()
    assert done.returncode == 1
    assert done.stderr.startswith(f"survey-audit: Snakemake's lock of this project is held and process {job.pid}")
    assert sorted(p.name for p in locks.iterdir()) == ["0.input.lock", "0.output.lock"]


def test_a_library_change_reruns_only_the_stages_that_import_it(project):
    assert planned_jobs(snakemake(project, "-n")) == {}
    module = project / "workflow" / "survey_audit" / "stats" / "weighting.py"
    module.write_text(module.read_text() + "\n# touched by the test\n")
    planned = planned_jobs(snakemake(project, "-n"))
    assert planned.get("weight") == len(waves(project)) and "ingest" not in planned and "clean" not in planned
    # the schemas hold the defaults the configuration is read with: the stages that load configuration list them
    schema = project / "workflow" / "schemas" / "codebook.schema.yaml"
    schema.write_text(schema.read_text() + "\n# touched by the test\n")
    planned = planned_jobs(snakemake(project, "-n"))
    assert planned.get("ingest") == len(waves(project)) and planned.get("clean") == len(waves(project))


def test_the_slurm_profile_plans_every_job_with_its_resources(project):
    # A dry run through the SLURM executor plugin (it must be installed for the profile's executor to parse):
    # every job gets memory that grows with its input and a runtime, per rule.
    planned = snakemake(project, "-n", "--forceall", "--profile", "workflow/profiles/slurm")
    assert planned.returncode == 0, planned.stderr[-3000:]
    text = planned.stdout + planned.stderr
    jobs = re.findall(r"^rule (\w+):.*?^    resources: (.*?)$", text, flags=re.M | re.S)
    resources = {rule: dict(item.split("=", 1) for item in line.split(", ")) for rule, line in jobs}
    assert set(resources) >= {
        "ingest", "clean", "weight", "tabulate", "associations", "families", "suppress", "publish", "report"
    }  # fmt: skip
    for rule, values in resources.items():
        assert int(values["mem_mb"]) >= 450 and values["cpus_per_task"] == "1", (rule, values)
    assert resources["ingest"]["runtime"] == "60" and resources["audit"]["runtime"] == "30"


def result_files(project: Path) -> dict[str, bytes]:
    """Every file under results/ except the run logs, by path."""
    return {
        p.relative_to(project).as_posix(): p.read_bytes()
        for p in sorted((project / "results").rglob("*"))
        if p.is_file() and p.suffix != ".log"
    }


def test_outputs_are_byte_identical_across_cores_and_hash_seeds(project, tmp_path_factory, request):
    root = Path(request.config.rootpath)
    other = copy_project(root, tmp_path_factory.mktemp("second"))
    env = {**os.environ, "PYTHONPATH": str(other / "workflow"), "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--workflow-profile", "workflow/profiles/default", "--cores", "1"],
        cwd=other,
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    first, second = result_files(project), result_files(other)
    assert sorted(first) == sorted(second)
    differing = [path for path in first if first[path] != second[path]]
    assert not differing, differing


def survey_audit(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(project / "workflow")}
    return subprocess.run(
        [sys.executable, "-m", "survey_audit.cli", *args], cwd=project, capture_output=True, text=True, env=env
    )


def test_verify_passes_against_the_latest_committed_release(project, request):
    from survey_audit.tools.releases import latest_release

    root = Path(request.config.rootpath)
    release = latest_release(root / "results")
    assert release is not None, "no release is committed under results/releases/"
    shutil.copytree(root / "results" / "releases", project / "results" / "releases", dirs_exist_ok=True)
    done = survey_audit(project, "verify", release.name, "--no-run")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert f"verified: every table, test and audit value equals release {release.name}" in done.stdout


def test_trace_follows_a_printed_number_to_the_raw_export(project):
    manifest = json.loads((project / "results" / "manifest.json").read_text())
    done = survey_audit(project, "trace", "t15-advertised-online")
    assert done.returncode == 0, done.stderr[-2000:]
    raw = manifest["inputs"]["resources/synthetic/wave1.csv"]["sha256"]
    assert in_order(
        done.stdout,
        '  printed:     63%: "Online Advertising: 63% of the victims report being advertised online."',
        "  recomputed:  62.61% (72/115), difference -0.39 points: reproduced [primary]",
        "  estimate:    pct 62.608696, 95% CI 55.06 to 69.73 (kg)",
        "  table cell:  results/tables/advertised.csv, row 2: wave wave1, advertised = online, unweighted",
        "    publish: wrote results/tables/advertised.csv",
        "    tabulate (scope=wave1): wrote results/internal/cells/wave1.parquet",
        "    ingest (wave=wave1): wrote",
        f"    RAW resources/synthetic/wave1.csv (raw): {raw}",
        "  run:         survey-audit",
    ), done.stdout
    suppressed = survey_audit(project, "trace", "t18-advertised-online-before-2004")
    assert suppressed.returncode == 0 and "  recomputed:  [c] withheld: reproduced" in suppressed.stdout
    assert "/55)" not in suppressed.stdout  # the withheld base is not printed


def in_order(text: str, *parts: str) -> bool:
    """Whether every part is in the text, each after the one before."""
    at = 0
    for part in parts:
        at = text.find(part, at)
        if at < 0:
            return False
    return True


def test_a_changed_cleaning_rule_stops_the_run_and_shows_in_verify_and_diff_verdicts_first(project, tmp_path_factory):
    copy = tmp_path_factory.mktemp("changed") / "project"
    shutil.copytree(project, copy, symlinks=True)
    (copy / "results" / "releases").mkdir(exist_ok=True)
    assert survey_audit(copy, "release", "before", "--no-run", "--note", "before the change").returncode == 0
    assert "## before" in (copy / "results" / "releases" / "CHANGELOG.md").read_text()
    config = copy / "config" / "config.yaml"
    config.write_text(config.read_text().replace("out_of_range: set_missing", "out_of_range: exclude"))
    # one respondent fewer per wave: the printed sample sizes, primary entries, no longer reproduce
    run = survey_audit(copy, "run")
    assert run.returncode != 0, run.stderr[-3000:]
    assert "primary printed number(s) stopped reproducing since release before:" in run.stderr
    assert "t15-respondents [primary]: reproduced → differs  (stopped reproducing)" in run.stderr
    assert (copy / "results" / "STALE").read_text() == "the last run failed at rule verdicts\n"
    refused = survey_audit(copy, "release", "after", "--no-run")
    assert refused.returncode == 2 and "stale" in refused.stderr
    verify = survey_audit(copy, "verify", "before")  # the results are complete: the verdict check runs last
    assert verify.returncode == 1, verify.stderr[-2000:]
    assert in_order(
        verify.stdout,
        "1. Verdicts of published numbers:",
        "t15-respondents [primary]: reproduced → differs",
        "2. Tables:",
        "  sample: ",
        "3. Inputs whose hashes differ:",
        "config/config.yaml: ",
        "4. Values: ",
        "value line(s) omitted",
    ), verify.stdout[-3000:]
    assert "sample [wave1/unweighted/all/respondents] n: 115 → 114" not in verify.stdout
    diff = survey_audit(copy, "diff", "before", "--values")
    assert diff.returncode == 0
    # the results are stale (the run failed at its verdict check): both comparisons say so first
    stale_note = "NOTE: the current results are stale (the last run failed at rule verdicts)"
    assert diff.stderr.startswith(stale_note) and stale_note in verify.stderr  # verify: after its rerun's log
    assert in_order(
        diff.stdout,
        "t15-respondents [primary]: reproduced → differs",
        "4. Values:",
        "sample [wave1/unweighted/all/respondents] n: 115 → 114",
        "sample [wave2/unweighted/all/respondents] n: 260 → 259",
    )
    # the change accepted: the configuration says a flip does not stop the run, which lists it and goes on
    config.write_text(config.read_text().replace("fail_on_verdict_change: true", "fail_on_verdict_change: false"))
    accepted = survey_audit(copy, "run")
    assert accepted.returncode == 0, accepted.stderr[-3000:]
    assert not (copy / "results" / "STALE").exists()
    verdicts = (copy / "results" / "audit" / "verdicts.txt").read_text()
    assert "Compared with release before." in verdicts
    assert "t15-respondents [primary]: reproduced → differs  (stopped reproducing)" in verdicts
    assert "audit.fail_on_verdict_change is false, so the run goes on." in verdicts


def test_a_new_wave_needs_only_a_codebook_a_raw_file_and_a_sheet_row(tmp_path, request):
    root = Path(request.config.rootpath)
    project = copy_project(root, tmp_path)
    shutil.copy(project / "resources" / "synthetic" / "wave2.csv", project / "resources" / "wave3.csv")
    codebook = (project / "config" / "codebooks" / "wave2.yaml").read_text().replace("wave: wave2", "wave: wave3")
    (project / "config" / "codebooks" / "wave3.yaml").write_text(codebook)
    with open(project / "config" / "waves.tsv", "a") as sheet:
        sheet.write(
            "wave3\tWave 3 (a new wave)\tresources/wave3.csv\tconfig/codebooks/wave3.yaml\t2016\t2017\t\tno\t\n"
        )
    done = snakemake(project, "--cores", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    gender = pd.read_csv(project / "results" / "tables" / "gender.csv")
    # the pools are cumulative: wave1+wave2 stays, wave1+wave2+wave3 is added
    assert set(gender["wave"]) == {"wave1", "wave2", "wave3", "wave1+wave2", "wave1+wave2+wave3"}
    pooled = pd.read_csv(project / "results" / "tables" / "african_american_female.csv")
    assert {"wave1+wave2", "wave1+wave2+wave3"} <= set(pooled["wave"])
    sample = pd.read_csv(project / "results" / "tables" / "sample.csv").set_index(["wave", "category"])["n"]
    assert sample[("wave3", "respondents")] == 260 and sample[("wave1+wave2+wave3", "respondents")] == 115 + 260 + 260
    assert (project / "results" / "clean" / "wave3.quarantine.csv").is_file()
