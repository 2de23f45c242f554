"""Snakemake adapter: the weights of one wave."""

from survey_audit import adapter
from survey_audit.stages.weight import weight_wave

adapter.run(
    snakemake,
    lambda: weight_wave(
        analysed=snakemake.input.analysed,
        wave=snakemake.wildcards.wave,
        spec=snakemake.input.spec[0] if snakemake.input.spec else None,
        references=dict(zip(snakemake.params.reference_waves, snakemake.input.references)),
        lonely_psu=snakemake.params.lonely_psu,
        weights_out=snakemake.output.weights,
        calibration_out=snakemake.output.calibration,
        diagnostics_out=snakemake.output.diagnostics,
        margins_out=snakemake.output.margins,
    ),
)
