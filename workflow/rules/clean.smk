# clean: the wave's cleaning rules, each logged with the rows it touched; raw = analysed + quarantined.


rule clean:
    input:
        respondents="results/ingest/{wave}.parquet",
        findings="results/ingest/{wave}.findings.csv",
        codebook=codebook_file,
        variables=plan_file("variables.yaml"),
        code=code("clean"),
    output:
        analysed="results/clean/{wave}.parquet",
        log="results/clean/{wave}.log.csv",
        quarantine="results/clean/{wave}.quarantine.csv",
        flow="results/clean/{wave}.flow.csv",
        actions="results/clean/{wave}.actions.csv",
    log:
        "results/logs/clean/{wave}.log",
    params:
        cleaning=config["cleaning"],
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/clean.py"
