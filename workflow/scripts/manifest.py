"""Snakemake adapter: the run manifest."""

from survey_audit import adapter
from survey_audit.stages.manifest import write_manifest

adapter.run(
    snakemake,
    lambda: write_manifest(
        config=snakemake.params.config,
        config_files=list(snakemake.input.config_files),
        registries=list(snakemake.input.registries),
        logs=snakemake.params.logs,
        outputs=list(snakemake.input.outputs),
        synthetic=snakemake.params.synthetic,
        code_version=snakemake.params.code_version,
        manifest_out=snakemake.output.manifest,
    ),
)
