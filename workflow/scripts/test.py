"""Snakemake adapter: tests of association with multiplicity control."""

from survey_audit import adapter, significance

adapter.run(
    snakemake,
    lambda: significance.test_tables(
        analysed=list(snakemake.input.analysed),
        weights=list(snakemake.input.weights),
        scopes=snakemake.params.scopes,
        tables=list(snakemake.input.tables),
        variables=snakemake.input.variables,
        waves=snakemake.params.waves,
        tests_out=snakemake.output.tests,
    ),
)
