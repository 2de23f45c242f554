# manifest: every file the run's jobs read and wrote with its sha256, and the job, configuration and code that
# produced each output, assembled from the records the jobs left beside their logs (no data file is hashed
# again). The outputs are inputs so that the manifest comes last and follows any change; it reads only their
# records. The code version (git commit, changed files) is a parameter: a commit reruns the manifest.


rule manifest:
    input:
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
        code_version=CODE_VERSION,
        logs=job_logs(),
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/manifest.py"
