"""Snakemake adapter: public tables from the internal cells."""

from survey_audit import adapter
from survey_audit.stages.publish import publish_tables

adapter.run(
    snakemake,
    lambda: publish_tables(
        cells=list(snakemake.input.cells),
        decimals=snakemake.params.decimals,
        tables_out=dict(zip(snakemake.params.table_ids, snakemake.output.tables)),
    ),
)
