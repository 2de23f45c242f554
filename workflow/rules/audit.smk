# audit: a verdict for every number the reports printed, computed on the full internal cells and tests (the
# publish stage writes the public audit, without the counts of suppressed cells).


rule audit:
    input:
        cells=expand("results/internal/cells/{scope}.parquet", scope=SCOPES),
        tests="results/internal/tests.csv",
        registries=config["published"],
        code=code("audit"),
    output:
        audit="results/internal/audit.csv",
    log:
        "results/logs/audit.log",
    params:
        rounding=config["audit"]["rounding"],
        small_base=config["tabulation"]["small_base"],
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/audit.py"
