# test: tests of association for every table with a by-variable, adjusted within declared families.


rule test:
    input:
        analysed=expand("results/clean/{wave}.parquet", wave=WAVE_IDS),
        weights=expand("results/weights/{wave}.parquet", wave=WAVE_IDS),
        tables=config["tables"],
        variables=config["variables"],
        registries=config["published"],
        code=code("test"),
    output:
        tests="results/tests.csv",
    log:
        "results/logs/test.log",
    params:
        waves=WAVE_IDS,
        scopes=SCOPES,
        estimation=config.get("estimation", {}),
        significance=config.get("significance", {}),
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/test.py"
