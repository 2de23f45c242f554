# report: the HTML report a reviewer opens in a browser (audit first, then each chapter's tables and figures).


rule report:
    input:
        tables=expand("results/tables/{table_id}.csv", table_id=TABLE_IDS),
        specs=config["tables"],
        tests="results/tests.csv",
        audit="results/audit/published.csv",
        flows=expand("results/public/flow/{wave}.csv", wave=WAVE_IDS),
        logs=expand("results/public/log/{wave}.csv", wave=WAVE_IDS),
        diagnostics=expand("results/weights/{wave}.diagnostics.json", wave=WEIGHTED),
        margins=expand("results/public/margins/{wave}.csv", wave=WEIGHTED),
        disclosure="results/audit/disclosure.txt",
        code=code("report"),
    output:
        report=report("results/report/index.html", caption="../report/report.rst", category="Report"),
    log:
        "results/logs/report.log",
    params:
        synthetic=SYNTHETIC,
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/report.py"
