# Configuration, the wave sheet and helpers shared by every stage. Parsing checks every wave (sheet row, codebook
# and raw file against each other: `survey-audit check-wave`; a wave is read again only when one of them changed)
# and reads and cross-checks every declared file, so a broken wave or file fails before any job, dry runs
# included; it then writes each scope's part of the plan (results/internal/plan/), rewriting a file only when
# it changes, so a change reruns only the scopes it touches. Nothing heavier than pandas is imported.
import os
import re
import sys
from pathlib import Path

PROJECT = Path(workflow.basedir)
LIBRARY = PROJECT / "workflow"
# The library is importable by the Snakefile and, through PYTHONPATH, by every script job.
sys.path.insert(0, str(LIBRARY))
os.environ.update(
    PYTHONPATH=os.pathsep.join(p for p in (str(LIBRARY), os.environ.get("PYTHONPATH", "")) if p)
)

from survey_audit import stale
from survey_audit.config.plan import PLAN_DIR, build_plan, write_plan
from survey_audit.config.settings import check_config
from survey_audit.config.tables import scope_waves
from survey_audit.errors import SurveyAuditError
from survey_audit.intake.check import check_waves
from survey_audit.provenance import commit_date, git_state, module_closure
from survey_audit.stages.verdicts import AUDIT_FILE, reference_release

try:
    check_config(config)  # fills in the schema's defaults
    check_waves(config, cache=PLAN_DIR)  # every wave's codebook and raw file, every problem at once
    PLAN = build_plan(config)
    write_plan(PLAN)
except SurveyAuditError as error:
    sys.exit(str(error))

WAVES = PLAN.waves
WAVE_IDS = list(WAVES)
SCOPES = PLAN.scopes
TABLE_IDS = sorted(spec.id for spec in PLAN.specs)
TABLE_SPECS = {spec.id: spec for spec in PLAN.specs}
SYNTHETIC = any(w.synthetic for w in WAVES.values())
CODE_VERSION = git_state(PROJECT)  # the commit the run stands on, and the tracked files that differ from it
COMMIT_DATE = commit_date(PROJECT)  # its committer date: the report's run date, the same for every rerun
WEIGHTED = [wave for wave in WAVE_IDS if wave in PLAN.weighting]
# For each weighted wave, the wave each margin's targets come from (their shares repeat that wave's counts).
REFERENCES = {
    wave: {m["variable"]: m["source"]["wave"] for m in spec.margins if "wave" in m["source"]}
    for wave, spec in PLAN.weighting.items()
}


wildcard_constraints:
    wave="|".join(map(re.escape, WAVE_IDS)),
    scope="|".join(map(re.escape, SCOPES)),


SCHEMAS = sorted(os.path.relpath(schema, PROJECT) for schema in (LIBRARY / "schemas").glob("*.schema.yaml"))


def code(script):
    """The library modules a workflow script imports, and the schemas when it loads configuration (they hold
    its defaults): inputs of its rule, so code changes rerun it."""
    path = LIBRARY / "scripts" / f"{script}.py"
    cache = PROJECT / ".snakemake" / "survey-audit" / "imports.json"
    modules = [os.path.relpath(module, PROJECT) for module in module_closure(path, cache=cache)]
    loads_configuration = os.path.join("workflow", "survey_audit", "config", "loading.py") in modules
    return modules + (SCHEMAS if loads_configuration else [])


def plan_file(kind, key="wave"):
    """An input function: the plan file of a wave's (or a scope's) ``kind`` (variables.yaml or tables.json)."""
    return lambda wildcards: f"{PLAN_DIR}/{wildcards[key]}.{kind}"


def raw_file(wildcards):
    return WAVES[wildcards.wave].raw


def codebook_file(wildcards):
    return WAVES[wildcards.wave].codebook


def weighting_spec(wildcards):
    """The wave's weighting spec, or nothing (unit weights)."""
    return [WAVES[wildcards.wave].weighting] if wildcards.wave in PLAN.weighting else []


def reference_waves(wildcards):
    """The waves whose composition the wave's weighting targets."""
    spec = PLAN.weighting.get(wildcards.wave)
    return spec.reference_waves if spec else []


def scope_files(pattern):
    """An input function: ``pattern`` (with ``{wave}``) for every wave of the scope."""
    return lambda wildcards: expand(pattern, wave=scope_waves(wildcards.scope))


def scope_calibration(wildcards):
    """A wave's calibration record (none for a pool: pooled tables are unweighted)."""
    if wildcards.scope in WAVES:
        return [f"results/weights/{wildcards.scope}.calibration.parquet"]
    return []


def public_outputs():
    """The files a reviewer reads: tables, tests, the audit, each wave's flow and margins, the disclosure check,
    the report and the workbook (disclosure control applied to all)."""
    return [
        *expand("results/tables/{table_id}.csv", table_id=TABLE_IDS),
        "results/tests.csv",
        "results/audit/published.csv",
        "results/audit/summary.txt",
        "results/audit/disclosure.txt",
        *expand("results/public/flow/{wave}.csv", wave=WAVE_IDS),
        *expand("results/public/log/{wave}.csv", wave=WAVE_IDS),
        *expand("results/public/margins/{wave}.csv", wave=WEIGHTED),
        "results/report/index.html",
        "results/report/tables.xlsx",
    ]


def reference_audit():
    """The public audit of the release the run's verdicts are compared with (none before the first release)."""
    release = reference_release(PROJECT / "results", SYNTHETIC)
    return [os.path.relpath(release / AUDIT_FILE, PROJECT)] if release else []


def final_outputs():
    return [
        *public_outputs(),
        *expand("results/clean/{wave}.log.csv", wave=WAVE_IDS),
        *expand("results/weights/{wave}.diagnostics.json", wave=WAVE_IDS),
        "results/manifest.json",
        "results/audit/verdicts.txt",
    ]


def job_logs():
    """The log of every job the manifest describes (the job's provenance record is beside it); called once the
    stages' rules are defined."""
    return [
        *(log for stage in (rules.ingest, rules.clean, rules.weight) for log in expand(stage.log[0], wave=WAVE_IDS)),
        *(log for stage in (rules.tabulate, rules.associations) for log in expand(stage.log[0], scope=SCOPES)),
        *(
            stage.log[0]
            for stage in (rules.families, rules.audit, rules.suppress, rules.publish, rules.disclosure, rules.report)
        ),
        rules.workbook.log[0],
    ]


def asked_for_everything():
    """Whether this run was asked for every result: the default target, nothing left out."""
    asked = workflow.dag_settings
    restricted = asked.target_jobs or asked.until or asked.omit_from or asked.batch or asked.allowed_rules
    return set(asked.targets) <= {workflow.default_target} and not restricted


def failed_jobs():
    """The jobs of this run that failed: their rule, and their wildcards in brackets."""
    jobs = getattr(workflow.scheduler, "failed", ())
    return sorted(
        job.rule.name + (f" ({', '.join(f'{k}={v}' for k, v in job.wildcards.items())})" if job.wildcards else "")
        for job in jobs
    )


def print_audit_summary():
    """The audit's summary and the verdicts that changed since the last release, at the end of a run."""
    for part in ("summary.txt", "verdicts.txt"):
        path = Path("results/audit") / part
        if path.is_file():
            print(path.read_text(encoding="utf-8"), file=sys.stderr)
