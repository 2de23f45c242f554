# suppress: which counts the public outputs withhold (small counts, and the counts that would give them back),
# decided from the full internal results alone, beside the tests and the audit; the publish rule blanks them.


rule suppress:
    input:
        cells=expand("results/internal/cells/{scope}.parquet", scope=SCOPES),
        flows=expand("results/clean/{wave}.flow.csv", wave=WAVE_IDS),
        margins=expand("results/weights/{wave}.margins.csv", wave=WEIGHTED),
        registries=config["published"],
        variables=expand(f"{PLAN_DIR}/{{scope}}.variables.yaml", scope=SCOPES),
        tables=f"{PLAN_DIR}/tables.json",
        code=code("suppress"),
    output:
        suppressed="results/internal/suppressed.csv",
    log:
        "results/logs/suppress.log",
    params:
        waves=WAVE_IDS,
        weighted=WEIGHTED,
        references=REFERENCES,
        min_count=config["disclosure"]["min_count"],
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/suppress.py"
