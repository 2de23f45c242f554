"""Snakemake adapter: the cells of every table for one wave, or pooled."""

from survey_audit import adapter, tables

adapter.run(
    snakemake,
    lambda: tables.tabulate_scope(
        scope=snakemake.wildcards.scope,
        analysed=list(snakemake.input.analysed),
        weights=list(snakemake.input.weights),
        codebooks=list(snakemake.input.codebooks),
        weighting=list(snakemake.input.weighting),
        tables=list(snakemake.input.tables),
        variables=snakemake.input.variables,
        waves=snakemake.params.waves,
        estimation=snakemake.params.estimation,
        small_base=snakemake.params.small_base,
        synthetic=snakemake.params.synthetic,
        cells_out=snakemake.output.cells,
    ),
)
