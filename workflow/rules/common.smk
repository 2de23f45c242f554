# Configuration, the wave sheet and helpers shared by every stage.
import os
import sys

import yaml
from pathlib import Path

PROJECT = Path(workflow.basedir)
LIBRARY = PROJECT / "workflow"
# The library is importable by the Snakefile and, through PYTHONPATH, by every script job.
sys.path.insert(0, str(LIBRARY))
os.environ.update(
    PYTHONPATH=os.pathsep.join(p for p in (str(LIBRARY), os.environ.get("PYTHONPATH", "")) if p)
)

from survey_audit.audit import check_registry_cells, load_registry
from survey_audit.codebook import carried_by_wave, load_variables
from survey_audit.configuration import check_config, load_wave_sheet
from survey_audit.errors import SurveyAuditError
from survey_audit.provenance import module_closure
from survey_audit.tables import POOLED, load_table_specs

try:
    check_config(config)
    WAVES = load_wave_sheet(config["waves"])
    VARIABLES = load_variables(config["variables"])
    CARRIED = carried_by_wave(WAVES["codebook"].tolist(), VARIABLES)
    TABLE_SPECS = load_table_specs(config["tables"], VARIABLES, CARRIED)
    for registry in config["published"]:
        check_registry_cells(load_registry(registry), TABLE_SPECS, VARIABLES, list(WAVES.index))
except SurveyAuditError as error:
    sys.exit(str(error))

WAVE_IDS = list(WAVES.index)
TABLE_IDS = sorted(spec.id for spec in TABLE_SPECS)
SCOPES = WAVE_IDS + ([POOLED] if any(POOLED in spec.waves for spec in TABLE_SPECS) else [])
SYNTHETIC = bool((WAVES["synthetic"] == "yes").any())


wildcard_constraints:
    wave="|".join(WAVE_IDS),
    scope="|".join(SCOPES),


def code(script):
    """The library modules a workflow script imports: inputs of its rule, so code changes rerun it."""
    path = LIBRARY / "scripts" / f"{script}.py"
    return [os.path.relpath(module, PROJECT) for module in module_closure(path)]


def raw_file(wildcards):
    return WAVES.loc[wildcards.wave, "raw"]


def codebook_file(wildcards):
    return WAVES.loc[wildcards.wave, "codebook"]


def weighting_spec(wildcards):
    """The wave's weighting spec, or nothing (unit weights)."""
    return weighting_files(wildcards.wave)[:1]


def weighting_reference_waves(wildcards):
    """The waves whose composition the wave's weighting targets."""
    spec = weighting_spec(wildcards)
    if not spec:
        return []
    margins = yaml.safe_load(Path(spec[0]).read_text(encoding="utf-8"))["margins"]
    return sorted({m["source"]["wave"] for m in margins if "wave" in m.get("source", {})})


def weighting_references(wildcards):
    return expand("results/clean/{wave}.parquet", wave=weighting_reference_waves(wildcards))


def weighting_files(wave):
    """A wave's weighting spec and the diagnostics its weighted tables are rebuilt from (none: unit weights)."""
    spec = WAVES.loc[wave, "weighting"]
    return [spec, f"results/weights/{wave}.diagnostics.json"] if spec else []


def scope_weighting(wildcards):
    return [] if wildcards.scope == POOLED else weighting_files(wildcards.scope)


def scope_waves(wildcards):
    return WAVE_IDS if wildcards.scope == POOLED else [wildcards.scope]


def scope_analysed(wildcards):
    return expand("results/clean/{wave}.parquet", wave=scope_waves(wildcards))


def scope_weights(wildcards):
    return expand("results/weights/{wave}.parquet", wave=scope_waves(wildcards))


def public_outputs():
    """The files a reviewer reads: tables, tests and the audit."""
    return [
        *expand("results/tables/{table_id}.csv", table_id=TABLE_IDS),
        "results/tests.csv",
        "results/audit/published.csv",
        "results/audit/summary.txt",
        "results/report/index.html",
    ]


def final_outputs():
    return [
        *public_outputs(),
        *expand("results/clean/{wave}.log.csv", wave=WAVE_IDS),
        *expand("results/weights/{wave}.diagnostics.json", wave=WAVE_IDS),
        "results/manifest.json",
    ]


def print_audit_summary():
    summary = Path("results/audit/summary.txt")
    if summary.is_file():
        print(summary.read_text(encoding="utf-8"), file=sys.stderr)
