"""Snakemake adapter: tests of association, trend and wave differences, adjusted within families."""

from survey_audit import adapter
from survey_audit.stages.associations import associations

adapter.run(
    snakemake,
    lambda: associations(
        waves=snakemake.params.waves,
        analysed=list(snakemake.input.analysed),
        weights=list(snakemake.input.weights),
        calibrations=list(snakemake.input.calibrations),
        cells=list(snakemake.input.cells),
        scopes=snakemake.params.scopes,
        variables=list(snakemake.input.variables),
        tables=snakemake.input.tables,
        estimation=snakemake.params.estimation,
        tabulation=snakemake.params.tabulation,
        significance=snakemake.params.significance,
        claims=snakemake.params.claims,
        release_scopes=snakemake.params.release_scopes,
        fielding=snakemake.params.fielding,
        tests_out=snakemake.output.tests,
    ),
)
