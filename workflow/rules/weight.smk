# weight: survey weights per wave. Without a weighting spec in the wave sheet every respondent has weight 1 (the
# reports' percentages are unweighted); with one, the wave is raked to its targets for sensitivity analysis, and
# the calibration it fitted is recorded for the variances of the weighted tables.


rule weight:
    input:
        analysed="results/clean/{wave}.parquet",
        spec=weighting_spec,
        references=lambda wildcards: expand("results/clean/{wave}.parquet", wave=reference_waves(wildcards)),
        code=code("weight"),
    output:
        weights="results/weights/{wave}.parquet",
        calibration="results/weights/{wave}.calibration.parquet",
        diagnostics="results/weights/{wave}.diagnostics.json",
        margins="results/weights/{wave}.margins.csv",
    log:
        "results/logs/weight/{wave}.log",
    params:
        reference_waves=reference_waves,
        lonely_psu=config["estimation"]["lonely_psu"],
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/weight.py"
