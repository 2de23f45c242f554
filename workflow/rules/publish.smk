# publish: the public outputs (tables, tests, audit, each wave's flow and margins) from the full internal results,
# with disclosure control applied: small counts, and the counts that would give them back, are not printed.


rule publish:
    input:
        cells=expand("results/internal/cells/{scope}.parquet", scope=SCOPES),
        tests="results/internal/tests.csv",
        audit="results/internal/audit.csv",
        registries=config["published"],
        flows=expand("results/clean/{wave}.flow.csv", wave=WAVE_IDS),
        logs=expand("results/clean/{wave}.log.csv", wave=WAVE_IDS),
        margins=expand("results/weights/{wave}.margins.csv", wave=WEIGHTED),
        variables=expand(f"{PLAN_DIR}/{{scope}}.variables.yaml", scope=SCOPES),
        tables=f"{PLAN_DIR}/tables.json",
        code=code("publish"),
    output:
        tables=expand("results/tables/{table_id}.csv", table_id=TABLE_IDS),
        tests="results/tests.csv",
        audit="results/audit/published.csv",
        summary="results/audit/summary.txt",
        flows=expand("results/public/flow/{wave}.csv", wave=WAVE_IDS),
        logs=expand("results/public/log/{wave}.csv", wave=WAVE_IDS),
        margins=expand("results/public/margins/{wave}.csv", wave=WEIGHTED),
        suppressed="results/internal/suppressed.csv",
    log:
        "results/logs/publish.log",
    params:
        waves=WAVE_IDS,
        weighted=WEIGHTED,
        references=REFERENCES,
        table_ids=TABLE_IDS,
        min_count=config["disclosure"]["min_count"],
        decimals=config["tabulation"]["decimals"],
        synthetic=SYNTHETIC,
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/publish.py"
