"""Snakemake adapter: clean one wave."""

from survey_audit import adapter
from survey_audit.stages.clean import clean_wave

adapter.run(
    snakemake,
    lambda: clean_wave(
        respondents=snakemake.input.respondents,
        findings=snakemake.input.findings,
        codebook=snakemake.input.codebook,
        variables=snakemake.input.variables,
        wave=snakemake.wildcards.wave,
        cleaning_defaults=snakemake.params.cleaning,
        analysed_out=snakemake.output.analysed,
        log_out=snakemake.output.log,
        quarantine_out=snakemake.output.quarantine,
        flow_out=snakemake.output.flow,
        actions_out=snakemake.output.actions,
    ),
)
