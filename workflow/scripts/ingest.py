"""Snakemake adapter: ingest one wave."""

from survey_audit import adapter
from survey_audit.stages.ingest import ingest_wave

adapter.run(
    snakemake,
    lambda: ingest_wave(
        raw=snakemake.input.raw,
        codebook=snakemake.input.codebook,
        variables=snakemake.input.variables,
        wave=snakemake.wildcards.wave,
        cleaning_defaults=snakemake.params.cleaning,
        respondents_out=snakemake.output.respondents,
        findings_out=snakemake.output.findings,
        summary_out=snakemake.output.summary,
    ),
)
