"""Snakemake adapter: the run manifest."""

from survey_audit import adapter
from survey_audit.stages.manifest import write_manifest

adapter.run(
    snakemake,
    lambda: write_manifest(
        config=snakemake.params.config,
        inputs=[
            *snakemake.input.data,
            *snakemake.input.codebooks,
            *snakemake.input.config_files,
            *snakemake.input.registries,
        ],
        outputs=list(snakemake.input.outputs),
        modules=snakemake.params.modules,
        registries=list(snakemake.input.registries),
        synthetic=snakemake.params.synthetic,
        manifest_out=snakemake.output.manifest,
    ),
)
