"""Snakemake adapter: audit the published numbers."""

from survey_audit import adapter
from survey_audit.stages.audit import audit_tables

adapter.run(
    snakemake,
    lambda: audit_tables(
        tables=list(snakemake.input.tables),
        tests=snakemake.input.tests,
        registries=list(snakemake.input.registries),
        synthetic=snakemake.params.synthetic,
        conventions=snakemake.params.rounding,
        audit_out=snakemake.output.audit,
        summary_out=snakemake.output.summary,
    ),
)
