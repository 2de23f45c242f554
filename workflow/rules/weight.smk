# weight: survey weights per wave. Without a weighting spec in the wave sheet every respondent has weight 1 (the
# reports' percentages are unweighted); with one, the wave is raked to its targets for sensitivity analysis.


rule weight:
    input:
        analysed="results/clean/{wave}.parquet",
        spec=weighting_spec,
        references=weighting_references,
        variables=config["variables"],
        codebooks=WAVES["codebook"].tolist(),
        code=code("weight"),
    output:
        weights="results/weights/{wave}.parquet",
        diagnostics="results/weights/{wave}.diagnostics.json",
        margins="results/weights/{wave}.margins.csv",
    log:
        "results/logs/weight/{wave}.log",
    params:
        reference_waves=weighting_reference_waves,
        lonely_psu=config.get("estimation", {}).get("lonely_psu", "adjust"),
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/weight.py"
