# report: the HTML report a reviewer opens in a browser or prints (audit first, then each chapter's tables and
# figures); its header names the release, commit, configuration hash and the commit's date.
from glob import glob

from survey_audit.config.loading import canonical_hash


rule report:
    input:
        tables=expand("results/tables/{table_id}.csv", table_id=TABLE_IDS),
        specs=config["tables"],
        tests="results/tests.csv",
        audit="results/audit/published.csv",
        flows=expand("results/public/flow/{wave}.csv", wave=WAVE_IDS),
        logs=expand("results/public/log/{wave}.csv", wave=WAVE_IDS),
        diagnostics=expand("results/weights/{wave}.diagnostics.json", wave=WEIGHTED),
        margins=expand("results/public/margins/{wave}.csv", wave=WEIGHTED),
        disclosure="results/audit/disclosure.txt",
        variables=config["variables"],
        registries=config["published"],
        # the releases' manifests: the header names the release whose recorded hashes these results have
        releases=sorted(glob("results/releases/*/manifest.json")),
        # the coverage study of the interval methods (validation/coverage.py), shown in the methods section
        coverage="validation/coverage_summary.csv",
        coverage_figure="validation/coverage.svg",
        code=code("report"),
    output:
        report=report("results/report/index.html", caption="../report/report.rst", category="Report"),
    log:
        "results/logs/report.log",
    params:
        synthetic=SYNTHETIC,
        small_base=config["tabulation"]["small_base"],
        # the configuration's hash, as the manifest records it (the report reruns when it changes)
        config_sha256=canonical_hash(config),
        # the commit the run stands on and its date, read when the workflow starts (a commit reruns the report)
        code_version=CODE_VERSION,
        commit_date=COMMIT_DATE,
        ci_method=config["estimation"]["ci_method"],
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/report.py"
