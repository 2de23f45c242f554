"""Snakemake adapter: generate one synthetic wave."""

from survey_audit import adapter, synthetic

adapter.run(
    snakemake,
    lambda: synthetic.synthesize_wave(
        spec=snakemake.input.spec,
        codebook=snakemake.input.codebook,
        variables=snakemake.input.variables,
        raw_out=snakemake.output.raw,
        defects_out=snakemake.output.defects,
    ),
)
