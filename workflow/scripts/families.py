"""Snakemake adapter: every scope's tests with the wave-to-wave comparisons, adjusted within families."""

from survey_audit import adapter
from survey_audit.stages.families import families

adapter.run(
    snakemake,
    lambda: families(
        waves=snakemake.params.waves,
        scopes=snakemake.params.scopes,
        scope_tests=list(snakemake.input.scope_tests),
        cells=list(snakemake.input.cells),
        variables=list(snakemake.input.variables),
        tables=snakemake.input.tables,
        significance=snakemake.params.significance,
        claims=snakemake.params.claims,
        release_scopes=snakemake.params.release_scopes,
        fielding=snakemake.params.fielding,
        tests_out=snakemake.output.tests,
    ),
)
