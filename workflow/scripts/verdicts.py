"""Snakemake adapter: the verdicts that changed since the last release; fail when a primary one stopped."""

from survey_audit import adapter
from survey_audit.stages.verdicts import check_verdicts

adapter.run(
    snakemake,
    lambda: check_verdicts(
        audit=snakemake.input.audit,
        reference=list(snakemake.input.reference),
        fail=snakemake.params.fail,
        report_out=snakemake.output.report,
    ),
)
