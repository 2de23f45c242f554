# tabulate: every declared table of one wave (or of all waves pooled), in one job per scope.


rule tabulate:
    input:
        analysed=scope_files("results/clean/{wave}.parquet"),
        weights=scope_files("results/weights/{wave}.parquet"),
        calibration=scope_calibration,
        variables=plan_file("variables.yaml", "scope"),
        tables=plan_file("tables.json", "scope"),
        code=code("tabulate"),
    output:
        cells="results/internal/cells/{scope}.parquet",
    log:
        "results/logs/tabulate/{scope}.log",
    params:
        estimation=config["estimation"],
        tabulation=config["tabulation"],
        synthetic=SYNTHETIC,
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/tabulate.py"
