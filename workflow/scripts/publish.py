"""Snakemake adapter: the public outputs, with disclosure control applied."""

from survey_audit import adapter
from survey_audit.stages.publish import publish

adapter.run(
    snakemake,
    lambda: publish(
        cells=list(snakemake.input.cells),
        suppressed=snakemake.input.suppressed,
        tests=snakemake.input.tests,
        audit=snakemake.input.audit,
        registries=list(snakemake.input.registries),
        flows=dict(zip(snakemake.params.waves, snakemake.input.flows)),
        logs=dict(zip(snakemake.params.waves, snakemake.input.logs)),
        margins=dict(zip(snakemake.params.weighted, snakemake.input.margins)),
        references=snakemake.params.references,
        variables=list(snakemake.input.variables),
        tables=snakemake.input.tables,
        min_count=snakemake.params.min_count,
        decimals=snakemake.params.decimals,
        synthetic=snakemake.params.synthetic,
        tables_out=dict(zip(snakemake.params.table_ids, snakemake.output.tables)),
        tests_out=snakemake.output.tests,
        audit_out=snakemake.output.audit,
        summary_out=snakemake.output.summary,
        flows_out=dict(zip(snakemake.params.waves, snakemake.output.flows)),
        logs_out=dict(zip(snakemake.params.waves, snakemake.output.logs)),
        margins_out=dict(zip(snakemake.params.weighted, snakemake.output.margins)),
    ),
)
