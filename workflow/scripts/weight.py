"""Snakemake adapter: weights of one wave."""

from survey_audit import adapter, weighting

adapter.run(
    snakemake,
    lambda: weighting.weight_wave(
        analysed=snakemake.input.analysed,
        weights_out=snakemake.output.weights,
    ),
)
