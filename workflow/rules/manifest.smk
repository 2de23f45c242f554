# manifest: every input and output with its sha256, and the job, configuration and code that produced it.


rule manifest:
    input:
        data=[w.raw for w in WAVES.values()],
        codebooks=[w.codebook for w in WAVES.values()],
        config_files=["config/config.yaml", config["waves"], config["variables"], *config["tables"]],
        registries=config["published"],
        outputs=[
            *public_outputs(),
            "results/internal/audit.csv",
            "results/internal/tests.csv",
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
                for s in ["ingest", "clean", "weight", "tabulate", "associations", "audit", "publish", "disclosure", "report"]
                for m in code(s)
            }
        ),
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/manifest.py"
