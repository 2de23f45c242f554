"""Snakemake adapter: weights of one wave."""

from survey_audit import adapter, weighting

adapter.run(
    snakemake,
    lambda: weighting.weight_wave(
        analysed=snakemake.input.analysed,
        spec=snakemake.input.spec[0] if snakemake.input.spec else None,
        references=dict(zip(snakemake.params.reference_waves, snakemake.input.references)),
        variables=snakemake.input.variables,
        codebooks=list(snakemake.input.codebooks),
        lonely_psu=snakemake.params.lonely_psu,
        weights_out=snakemake.output.weights,
        diagnostics_out=snakemake.output.diagnostics,
        margins_out=snakemake.output.margins,
    ),
)
