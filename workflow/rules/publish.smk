# publish: the public outputs (tables, tests, audit, each wave's flow and margins) from the full internal results,
# with disclosure control applied: the counts the suppress rule withholds, and what is computed from them, are
# not printed.


rule publish:
    input:
        cells=expand("results/internal/cells/{scope}.parquet", scope=SCOPES),
        suppressed="results/internal/suppressed.csv",
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
        tables=[
            report(
                f"results/tables/{table_id}.csv",
                caption="../report/table.rst",
                category="Tables",
                subcategory=TABLE_SPECS[table_id].chapter,
                labels={"table": table_id, "title": TABLE_SPECS[table_id].title},
            )
            for table_id in TABLE_IDS
        ],
        tests=report("results/tests.csv", caption="../report/tests.rst", category="Tests"),
        audit=report("results/audit/published.csv", caption="../report/audit.rst", category="Audit"),
        summary=report("results/audit/summary.txt", caption="../report/summary.rst", category="Audit"),
        flows=expand("results/public/flow/{wave}.csv", wave=WAVE_IDS),
        logs=expand("results/public/log/{wave}.csv", wave=WAVE_IDS),
        margins=expand("results/public/margins/{wave}.csv", wave=WEIGHTED),
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
