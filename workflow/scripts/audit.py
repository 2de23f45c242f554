"""Snakemake adapter: audit the published numbers against the full internal results."""

from survey_audit import adapter
from survey_audit.stages.audit import audit_tables

adapter.run(
    snakemake,
    lambda: audit_tables(
        cells=list(snakemake.input.cells),
        tests=snakemake.input.tests,
        registries=list(snakemake.input.registries),
        conventions=snakemake.params.rounding,
        small_base=snakemake.params.small_base,
        audit_out=snakemake.output.audit,
    ),
)
