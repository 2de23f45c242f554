"""Snakemake adapter: the attack check of the public outputs."""

from survey_audit import adapter
from survey_audit.stages.disclosure import check

adapter.run(
    snakemake,
    lambda: check(
        cells=list(snakemake.input.cells),
        flows=list(snakemake.input.flows),
        margins=list(snakemake.input.margins),
        variables=list(snakemake.input.variables),
        tables=snakemake.input.tables,
        waves=snakemake.params.waves,
        weighted=snakemake.params.weighted,
        references=snakemake.params.references,
        public_tables=list(snakemake.input.public_tables),
        public_flows=list(snakemake.input.public_flows),
        public_margins=list(snakemake.input.public_margins),
        public_tests=snakemake.input.public_tests,
        public_audit=snakemake.input.public_audit,
        min_count=snakemake.params.min_count,
        report_out=snakemake.output.report,
    ),
)
