"""Snakemake adapter: public tables from the internal cells."""

from survey_audit import adapter, tables

adapter.run(
    snakemake,
    lambda: tables.publish_tables(
        cells=list(snakemake.input.cells),
        decimals=snakemake.params.decimals,
        tables_out=dict(zip(snakemake.params.table_ids, snakemake.output.tables)),
    ),
)
