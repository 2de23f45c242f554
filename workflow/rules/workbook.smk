# workbook: the Excel workbook a reviewer opens beside the report (contents, every table with labels, the audit,
# the tests, the cleaning), made from the public outputs only.


rule workbook:
    input:
        tables=expand("results/tables/{table_id}.csv", table_id=TABLE_IDS),
        specs=config["tables"],
        variables=config["variables"],
        tests="results/tests.csv",
        audit="results/audit/published.csv",
        flows=expand("results/public/flow/{wave}.csv", wave=WAVE_IDS),
        logs=expand("results/public/log/{wave}.csv", wave=WAVE_IDS),
        margins=expand("results/public/margins/{wave}.csv", wave=WEIGHTED),
        code=code("workbook"),
    output:
        workbook=report(
            "results/report/tables.xlsx",
            caption="../report/workbook.rst",
            category="Report",
        ),
    log:
        "results/logs/workbook.log",
    params:
        synthetic=SYNTHETIC,
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/workbook.py"
