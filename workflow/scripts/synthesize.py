"""Snakemake adapter: generate one synthetic wave."""

from survey_audit import adapter
from survey_audit.tools.synthetic import synthesize_wave

adapter.run(
    snakemake,
    lambda: synthesize_wave(
        spec=snakemake.input.spec,
        codebook=snakemake.input.codebook,
        variables=snakemake.input.variables,
        raw_out=snakemake.output.raw,
        defects_out=snakemake.output.defects,
    ),
)
