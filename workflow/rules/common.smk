# Configuration, the wave sheet and helpers shared by every stage. Parsing reads and checks every declared
# file (config, wave sheet, variables, codebooks, table specs, registries, weighting specs) with the light
# configuration layer of the library only, so a broken file fails before any job and a dry run stays fast.
import os
import sys
from pathlib import Path

PROJECT = Path(workflow.basedir)
LIBRARY = PROJECT / "workflow"
# The library is importable by the Snakefile and, through PYTHONPATH, by every script job.
sys.path.insert(0, str(LIBRARY))
os.environ.update(
    PYTHONPATH=os.pathsep.join(p for p in (str(LIBRARY), os.environ.get("PYTHONPATH", "")) if p)
)

from survey_audit.config.codebook import carried_by_wave
from survey_audit.config.registry import check_registry_cells, load_registry
from survey_audit.config.settings import check_config
from survey_audit.config.tables import POOLED, load_table_specs
from survey_audit.config.variables import load_variables
from survey_audit.config.waves import load_wave_sheet
from survey_audit.config.weighting import load_weighting_spec
from survey_audit.errors import SurveyAuditError
from survey_audit.provenance import module_closure

try:
    check_config(config)  # fills in the schema's defaults
    WAVES = load_wave_sheet(config["waves"])
    VARIABLES = load_variables(config["variables"])
    CARRIED = carried_by_wave([w.codebook for w in WAVES.values()], VARIABLES)
    TABLE_SPECS = load_table_specs(config["tables"], VARIABLES, CARRIED)
    REGISTRIES = [load_registry(path) for path in config["published"]]
    for registry in REGISTRIES:
        check_registry_cells(registry, TABLE_SPECS, VARIABLES)
    WEIGHTING = {
        wave: load_weighting_spec(w.weighting, VARIABLES, CARRIED) for wave, w in WAVES.items() if w.weighting
    }
except SurveyAuditError as error:
    sys.exit(str(error))

WAVE_IDS = list(WAVES)
TABLE_IDS = sorted(spec.id for spec in TABLE_SPECS)
SCOPES = WAVE_IDS + ([POOLED] if any(POOLED in spec.waves for spec in TABLE_SPECS) else [])
SYNTHETIC = any(w.synthetic for w in WAVES.values())
# The tests registry claims cite: they form the claims family of the association stage.
CLAIMS = sorted({e["claim"]["test"] for r in REGISTRIES for e in r.entries if e["claim"].get("test")})


wildcard_constraints:
    wave="|".join(WAVE_IDS),
    scope="|".join(SCOPES),


def code(script):
    """The library modules a workflow script imports: inputs of its rule, so code changes rerun it."""
    path = LIBRARY / "scripts" / f"{script}.py"
    return [os.path.relpath(module, PROJECT) for module in module_closure(path)]


def raw_file(wildcards):
    return WAVES[wildcards.wave].raw


def codebook_file(wildcards):
    return WAVES[wildcards.wave].codebook


def weighting_spec(wildcards):
    """The wave's weighting spec, or nothing (unit weights)."""
    return [WAVES[wildcards.wave].weighting] if wildcards.wave in WEIGHTING else []


def reference_waves(wildcards):
    """The waves whose composition the wave's weighting targets."""
    spec = WEIGHTING.get(wildcards.wave)
    return spec.reference_waves if spec else []


def weighting_codebooks(wildcards):
    """The codebooks a wave's weighting is checked against: its own and its reference waves'."""
    return [WAVES[w].codebook for w in [wildcards.wave, *reference_waves(wildcards)]]


def scope_waves(wildcards):
    return WAVE_IDS if wildcards.scope == POOLED else [wildcards.scope]


def scope_files(pattern):
    """An input function: ``pattern`` (with ``{wave}``) for every wave of the scope."""
    return lambda wildcards: expand(pattern, wave=scope_waves(wildcards))


def scope_calibration(wildcards):
    """A wave's calibration record (none for the pooled scope: pooled tables are unweighted)."""
    return [] if wildcards.scope == POOLED else [f"results/weights/{wildcards.scope}.calibration.parquet"]


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
