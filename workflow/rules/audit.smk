# audit: a verdict for every number the reports printed, and the summary shown at the end of each run.


rule audit:
    input:
        tables=expand("results/tables/{table_id}.csv", table_id=TABLE_IDS),
        tests="results/tests.csv",
        registries=config["published"],
        code=code("audit"),
    output:
        audit="results/audit/published.csv",
        summary="results/audit/summary.txt",
    log:
        "results/logs/audit.log",
    params:
        synthetic=SYNTHETIC,
        rounding=config["audit"]["rounding"],
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/audit.py"
