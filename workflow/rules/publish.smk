# publish: the public tables (one CSV per table id) and the run manifest.


rule publish:
    input:
        cells=expand("results/internal/cells/{scope}.parquet", scope=SCOPES),
        code=code("publish"),
    output:
        tables=expand("results/tables/{table_id}.csv", table_id=TABLE_IDS),
    log:
        "results/logs/publish.log",
    params:
        table_ids=TABLE_IDS,
        decimals=config["tabulation"]["decimals"],
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/publish.py"


rule manifest:
    input:
        data=[w.raw for w in WAVES.values()],
        codebooks=[w.codebook for w in WAVES.values()],
        config_files=["config/config.yaml", config["waves"], config["variables"], *config["tables"]],
        registries=config["published"],
        outputs=[
            *public_outputs(),
            *expand(
                "results/clean/{wave}.{part}",
                wave=WAVE_IDS,
                part=["parquet", "log.csv", "quarantine.csv", "flow.csv", "actions.csv"],
            ),
            *expand(
                "results/weights/{wave}.{part}",
                wave=WAVE_IDS,
                part=["parquet", "calibration.parquet", "diagnostics.json", "margins.csv"],
            ),
        ],
        code=code("manifest"),
    output:
        manifest="results/manifest.json",
    log:
        "results/logs/manifest.log",
    params:
        config=config,
        synthetic=SYNTHETIC,
        modules=sorted(
            {
                m
                for s in ["ingest", "clean", "weight", "tabulate", "associations", "publish", "audit", "report"]
                for m in code(s)
            }
        ),
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/manifest.py"
