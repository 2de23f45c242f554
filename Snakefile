# survey-audit: reproduce and audit the statistics of Thorn's survivor surveys.
# Stages: ingest → clean → weight → tabulate → associations → families → audit → publish → disclosure → report
# → manifest → verdicts, with suppress (which counts to withhold) beside the tests (see README.md).
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


# What `snakemake --report` shows first; the outputs it shows are marked with report() in the rules.
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/clean.smk"
include: "workflow/rules/weight.smk"
include: "workflow/rules/tabulate.smk"
include: "workflow/rules/associations.smk"
include: "workflow/rules/suppress.smk"
include: "workflow/rules/publish.smk"
include: "workflow/rules/audit.smk"
include: "workflow/rules/disclosure.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/workbook.smk"
include: "workflow/rules/manifest.smk"
include: "workflow/rules/verdicts.smk"
include: "workflow/rules/synthetic.smk"


rule all:
    default_target: True
    input:
        final_outputs(),


# While a run is under way or after it fails, results/STALE says so (see workflow/survey_audit/stale.py).
onstart:
    stale.starting()


onsuccess:
    stale.succeeded(whole=asked_for_everything())
    print_audit_summary()


onerror:
    stale.failed(failed_jobs())
