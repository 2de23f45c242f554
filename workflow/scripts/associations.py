"""Snakemake adapter: the tests of association, trend and table models in one scope, unadjusted."""

from survey_audit import adapter
from survey_audit.stages.associations import associations

adapter.run(
    snakemake,
    lambda: associations(
        scope=snakemake.wildcards.scope,
        analysed=list(snakemake.input.analysed),
        weights=list(snakemake.input.weights),
        calibration=snakemake.input.calibration[0] if snakemake.input.calibration else None,
        variables=snakemake.input.variables,
        tables=snakemake.input.tables,
        estimation=snakemake.params.estimation,
        tabulation=snakemake.params.tabulation,
        significance=snakemake.params.significance,
        fielding=snakemake.params.fielding,
        tests_out=snakemake.output.tests,
    ),
)
