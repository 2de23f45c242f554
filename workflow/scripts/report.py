"""Snakemake adapter: the HTML report."""

from survey_audit import adapter
from survey_audit.stages.report import write_report

adapter.run(
    snakemake,
    lambda: write_report(
        tables=list(snakemake.input.tables),
        specs=list(snakemake.input.specs),
        tests=snakemake.input.tests,
        audit=snakemake.input.audit,
        flows=list(snakemake.input.flows),
        logs=list(snakemake.input.logs),
        diagnostics=list(snakemake.input.diagnostics),
        margins=list(snakemake.input.margins),
        disclosure=snakemake.input.disclosure,
        variables=snakemake.input.variables,
        registries=list(snakemake.input.registries),
        releases=list(snakemake.input.releases),
        config_sha256=snakemake.params.config_sha256,
        code_version=snakemake.params.code_version,
        commit_date=snakemake.params.commit_date,
        coverage=snakemake.input.coverage,
        coverage_figure=snakemake.input.coverage_figure,
        ci_method=snakemake.params.ci_method,
        small_base=snakemake.params.small_base,
        synthetic=snakemake.params.synthetic,
        report_out=snakemake.output.report,
    ),
)
