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
        codebooks=list(snakemake.input.codebooks),
        tables=list(snakemake.input.tables),
        variables=snakemake.input.variables,
        estimation=snakemake.params.estimation,
        tabulation=snakemake.params.tabulation,
        synthetic=snakemake.params.synthetic,
        cells_out=snakemake.output.cells,
    ),
)
