"""Adding a third wave, as an analyst would: an SPSS export (renamed columns, a yes/no recoded 1/2, a new race
option, a question dropped and one added, a duplicate id, an out-of-range age, a blank case, fielded 2020–2021),
its codebook, the variable and table it brings, and a row in the wave sheet. Oracle: the run before the wave was
added: nothing of waves 1 and 2 may move, nor any number a release published for them."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_workflow import copy_project, snakemake, survey_audit

sys.path.insert(0, str(Path(__file__).resolve().parent / "data" / "wave3"))
from build import add_wave3  # noqa: E402

pytestmark = pytest.mark.integration
EARLIER = ("wave1", "wave2", "wave1+wave2")


def earlier_files(project: Path) -> dict[str, tuple[bytes, int]]:
    """Every file the jobs of waves 1 and 2 (and their pool) wrote, with its modification time."""
    patterns = [f"results/{d}/{s}.*" for d in ("ingest", "clean", "weights") for s in EARLIER[:2]]
    patterns += [f"results/internal/cells/{s}.parquet" for s in EARLIER]
    patterns += [f"results/internal/plan/{s}.*" for s in EARLIER]
    return {
        p.relative_to(project).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for pattern in patterns
        for p in sorted(project.glob(pattern))
        if not p.name.endswith(".check.json")
    }


@pytest.fixture(scope="module")
def added(tmp_path_factory, request):
    """A project run once with waves 1 and 2 and frozen as release 'before', then run again with wave 3."""
    project = copy_project(Path(request.config.rootpath), tmp_path_factory.mktemp("third"))
    assert snakemake(project, "--cores", "2").returncode == 0
    (project / "results" / "releases").mkdir()
    assert survey_audit(project, "release", "before", "--no-run").returncode == 0
    before = earlier_files(project)
    add_wave3(project)
    checked = survey_audit(project, "check-wave", "wave3")
    planned = snakemake(project, "-n", "--cores", "2")
    done = snakemake(project, "--cores", "2")
    assert done.returncode == 0, done.stderr[-4000:]
    return project, before, checked, planned


def test_the_new_wave_checks_clean(added):
    _, _, checked, _ = added
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("wave3: no problems") and "1 blank row(s) skipped" in checked.stdout


def test_no_job_of_an_earlier_wave_runs_again(added):
    project, before, _, planned = added
    text = planned.stdout + planned.stderr
    wildcards = re.findall(r"wildcards: (?:wave|scope)=(\S+)", text)
    assert wildcards and all("wave3" in w for w in wildcards), sorted(set(wildcards))
    after = earlier_files(project)
    assert sorted(after) == sorted(before)
    changed = [path for path in before if after[path] != before[path]]
    assert not changed, changed  # same bytes, same modification times: not rewritten


def test_what_a_release_published_for_waves_1_and_2_is_unchanged(added):
    project, _, _, _ = added
    done = survey_audit(project, "verify", "before", "--no-run", "--waves", "wave1,wave2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "verified: every table, test and audit value of wave1, wave2 equals release before" in done.stdout
    audit = pd.read_csv(project / "results" / "audit" / "published.csv", keep_default_na=False).set_index("entry_id")
    pinned = audit.loc["t18-pooled-african-american-female"]
    assert (pinned["cell"], pinned["verdict"]) == ("african_american_female/wave1+wave2/yes", "reproduced")


def test_cross_wave_outputs_extend_to_the_new_wave(added):
    project, _, _, _ = added
    tests = pd.read_csv(project / "results" / "tests.csv", keep_default_na=False)
    waves = set(tests["wave"])
    assert {"wave1-wave2", "wave1-wave3", "wave2-wave3"} <= waves  # every pair
    trends = tests[tests["test_id"].str.endswith(":wave_trend")]
    assert len(trends) and set(trends["wave"]) >= {"wave1+wave2+wave3"}  # a trend across the three waves
    assert set(tests.loc[tests["wave"].str.contains("wave3"), "report"]) == {"unpublished"}
    weighted = tests[(tests["wave"] == "wave2-wave3") & (tests["weighting"] == "weighted")]
    assert len(weighted) and weighted["method"].str.endswith("(wave2 weighted vs wave3 unweighted)").all()


def test_the_new_wave_brings_its_category_question_and_defects(added):
    project, _, _, _ = added
    race = pd.read_csv(project / "results" / "tables" / "race.csv", keep_default_na=False)
    asian = race[race["category"] == "asian_american"]
    assert set(asian["wave"]) == {"wave3", "wave1+wave2+wave3"}
    assert asian.set_index("wave").loc["wave3", "n"] > 0
    monitored = pd.read_csv(project / "results" / "tables" / "phone_monitored.csv", keep_default_na=False)
    assert set(monitored["wave"]) == {"wave1", "wave2", "wave1+wave2"}  # the dropped question keeps its pool
    social = pd.read_csv(project / "results" / "tables" / "used_social_media.csv", keep_default_na=False)
    assert set(social["wave"]) == {"wave3"}
    quarantine = pd.read_csv(project / "results" / "clean" / "wave3.quarantine.csv")
    assert "duplicate_id" in set(quarantine["rule"])
    actions = pd.read_csv(project / "results" / "clean" / "wave3.actions.csv", keep_default_na=False)
    out_of_range = actions[actions["rule"] == "out_of_range"]
    assert "age_at_survey" in set(out_of_range["variable"])  # the age of 150 (wave 2's own defects come along)
    years = pd.read_parquet(project / "results" / "clean" / "wave3.parquet")["survey_year"]
    assert set(years.dropna()) == {2020, 2021}  # the fielding years, not a calendar in the code


def test_check_wave_lists_every_problem_of_a_broken_codebook_in_one_run(tmp_path, request):
    project = copy_project(Path(request.config.rootpath), tmp_path)
    add_wave3(project)
    codebook = project / "config" / "codebooks" / "wave3.yaml"
    text = codebook.read_text()
    text = text.replace("  had_internet: {column: internet,", "  had_internternet: {column: internet,")  # misspelt
    text = text.replace("{column: age_now}", "{column: age}")  # the old name of a renamed column
    text = text.replace(', "5": asian_american}}', "}}")  # the new race code left unmapped
    codebook.write_text(text)
    done = survey_audit(project, "check-wave", "wave3")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    out = done.stdout
    assert "'had_internternet' is not a harmonised variable" in out
    assert "the file has no column 'age'" in out and "renamed 'age_now'?" in out
    assert "unknown codes of 'race': '5' in 8 row(s)" in out
    dry = snakemake(project, "-n")  # the same checks stop a dry run before any job
    assert dry.returncode != 0 and "had_internternet" in dry.stderr and "'5' in 8 row(s)" in dry.stderr
