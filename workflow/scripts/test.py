"""Snakemake adapter: tests of association, trend and wave differences, with multiplicity control."""

from survey_audit import adapter, tables

adapter.run(
    snakemake,
    lambda: tables.test_tables(
        analysed=list(snakemake.input.analysed),
        weights=list(snakemake.input.weights),
        scopes=snakemake.params.scopes,
        codebooks=list(snakemake.input.codebooks),
        tables=list(snakemake.input.tables),
        variables=snakemake.input.variables,
        waves=snakemake.params.waves,
        estimation=snakemake.params.estimation,
        significance=snakemake.params.significance,
        registries=list(snakemake.input.registries),
        weighting=dict(
            zip(snakemake.params.weighted_waves, zip(snakemake.input.weighting[::2], snakemake.input.weighting[1::2]))
        ),
        wave_cells=list(snakemake.input.cells),
        tests_out=snakemake.output.tests,
    ),
)
