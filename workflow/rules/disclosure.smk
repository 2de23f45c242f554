# disclosure: the attack check of every build. It reads what the public outputs print, tries to recover every
# suppressed count from all of them together, and stops the run if one can be, or if a small count is printed.


rule disclosure:
    input:
        cells=expand("results/internal/cells/{scope}.parquet", scope=SCOPES),
        flows=expand("results/clean/{wave}.flow.csv", wave=WAVE_IDS),
        margins=expand("results/weights/{wave}.margins.csv", wave=WEIGHTED),
        variables=expand(f"{PLAN_DIR}/{{scope}}.variables.yaml", scope=SCOPES),
        tables=f"{PLAN_DIR}/tables.json",
        public_tables=expand("results/tables/{table_id}.csv", table_id=TABLE_IDS),
        public_flows=expand("results/public/flow/{wave}.csv", wave=WAVE_IDS),
        public_margins=expand("results/public/margins/{wave}.csv", wave=WEIGHTED),
        public_tests="results/tests.csv",
        public_audit="results/audit/published.csv",
        code=code("disclosure"),
    output:
        report=report("results/audit/disclosure.txt", caption="../report/disclosure.rst", category="Audit"),
    log:
        "results/logs/disclosure.log",
    params:
        waves=WAVE_IDS,
        weighted=WEIGHTED,
        references=REFERENCES,
        min_count=config["disclosure"]["min_count"],
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/disclosure.py"
