# associations: tests of association and trend for every table with a by-variable and a test family, and wave
# to wave comparisons of every harmonised table, adjusted within declared families (the tests registry claims
# cite form the claims family).


rule associations:
    input:
        analysed=expand("results/clean/{wave}.parquet", wave=WAVE_IDS),
        weights=expand("results/weights/{wave}.parquet", wave=WAVE_IDS),
        calibrations=expand("results/weights/{wave}.calibration.parquet", wave=WAVE_IDS),
        cells=expand("results/internal/cells/{wave}.parquet", wave=WAVE_IDS),
        variables=expand(f"{PLAN_DIR}/{{scope}}.variables.yaml", scope=SCOPES),
        tables=f"{PLAN_DIR}/tables.json",
        code=code("associations"),
    output:
        tests="results/internal/tests.csv",
    log:
        "results/logs/associations.log",
    params:
        waves=WAVE_IDS,
        scopes=SCOPES,
        estimation=config["estimation"],
        tabulation=config["tabulation"],
        significance=config["significance"],
        claims=PLAN.claims(),
        release_scopes={wave: w.release_scope for wave, w in WAVES.items()},
        fielding={wave: [w.fielded_from, w.fielded_to] for wave, w in WAVES.items()},
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/associations.py"
