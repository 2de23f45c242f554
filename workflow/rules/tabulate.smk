# tabulate: every declared table of one wave (or of all waves pooled), in one job per scope.


rule tabulate:
    input:
        analysed=scope_analysed,
        weights=scope_weights,
        codebooks=WAVES["codebook"].tolist(),
        weighting=scope_weighting,
        tables=config["tables"],
        variables=config["variables"],
        code=code("tabulate"),
    output:
        cells="results/internal/cells/{scope}.parquet",
    log:
        "results/logs/tabulate/{scope}.log",
    params:
        waves=WAVE_IDS,
        estimation=config.get("estimation", {}),
        small_base=config.get("tabulation", {}).get("small_base", 30),
        synthetic=SYNTHETIC,
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/tabulate.py"
