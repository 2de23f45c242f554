# weight: survey weights per wave (unit weights when the wave sheet names no weighting targets).


rule weight:
    input:
        analysed="results/clean/{wave}.parquet",
        code=code("weight"),
    output:
        weights="results/weights/{wave}.parquet",
    log:
        "results/logs/weight/{wave}.log",
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/weight.py"
