# test: tests of association for every table with a by-variable, adjusted within declared families.


rule test:
    input:
        analysed=expand("results/clean/{wave}.parquet", wave=WAVE_IDS),
        weights=expand("results/weights/{wave}.parquet", wave=WAVE_IDS),
        codebooks=WAVES["codebook"].tolist(),
        tables=config["tables"],
        variables=config["variables"],
        registries=config["published"],
        weighting=[f for wave in WAVE_IDS for f in weighting_files(wave)],
        cells=expand("results/internal/cells/{wave}.parquet", wave=WAVE_IDS),
        code=code("test"),
    output:
        tests="results/tests.csv",
    log:
        "results/logs/test.log",
    params:
        waves=WAVE_IDS,
        scopes=SCOPES,
        weighted_waves=[wave for wave in WAVE_IDS if weighting_files(wave)],
        estimation=config.get("estimation", {}),
        significance=config.get("significance", {}),
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/test.py"
