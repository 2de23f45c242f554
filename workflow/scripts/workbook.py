"""Snakemake adapter: the Excel workbook."""

from survey_audit import adapter
from survey_audit.stages.workbook import write_workbook

adapter.run(
    snakemake,
    lambda: write_workbook(
        tables=list(snakemake.input.tables),
        specs=list(snakemake.input.specs),
        variables=snakemake.input.variables,
        tests=snakemake.input.tests,
        audit=snakemake.input.audit,
        flows=list(snakemake.input.flows),
        logs=list(snakemake.input.logs),
        margins=list(snakemake.input.margins),
        synthetic=snakemake.params.synthetic,
        workbook_out=snakemake.output.workbook,
    ),
)
