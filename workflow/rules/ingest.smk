# ingest: raw export → harmonised respondent frame, through the wave's codebook.
# Identifiers, contact details, locations, platform metadata and free text stop here.


rule ingest:
    input:
        raw=raw_file,
        codebook=codebook_file,
        variables=plan_file("variables.yaml"),
        code=code("ingest"),
    output:
        respondents="results/ingest/{wave}.parquet",
        findings="results/ingest/{wave}.findings.csv",
        summary="results/ingest/{wave}.summary.json",
    log:
        "results/logs/ingest/{wave}.log",
    params:
        cleaning=config["cleaning"],
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/ingest.py"
