"""Snakemake adapter: the cells of every table for one wave, or pooled."""

from survey_audit import adapter
from survey_audit.stages.tabulate import tabulate_scope

adapter.run(
    snakemake,
    lambda: tabulate_scope(
        scope=snakemake.wildcards.scope,
        analysed=list(snakemake.input.analysed),
        weights=list(snakemake.input.weights),
        calibration=snakemake.input.calibration[0] if snakemake.input.calibration else None,
        variables=snakemake.input.variables,
        tables=snakemake.input.tables,
        estimation=snakemake.params.estimation,
        tabulation=snakemake.params.tabulation,
        synthetic=snakemake.params.synthetic,
        cells_out=snakemake.output.cells,
    ),
)
