"""Snakemake adapter: which counts the public outputs withhold."""

from survey_audit import adapter
from survey_audit.stages.suppress import suppress

adapter.run(
    snakemake,
    lambda: suppress(
        cells=list(snakemake.input.cells),
        flows=dict(zip(snakemake.params.waves, snakemake.input.flows)),
        margins=dict(zip(snakemake.params.weighted, snakemake.input.margins)),
        references=snakemake.params.references,
        variables=list(snakemake.input.variables),
        tables=snakemake.input.tables,
        registries=list(snakemake.input.registries),
        min_count=snakemake.params.min_count,
        suppressed_out=snakemake.output.suppressed,
    ),
)
