# associations: the tests of association and trend of every table with a by-variable and a test family, table
# models, and trends across three or more waves, in one job per scope (unadjusted); families: with the wave to
# wave comparisons of every harmonised table, adjusted within declared families (the tests registry claims cite
# form the claims family).


rule associations:
    input:
        analysed=scope_files("results/clean/{wave}.parquet"),
        weights=scope_files("results/weights/{wave}.parquet"),
        calibration=scope_calibration,
        variables=plan_file("variables.yaml", "scope"),
        tables=plan_file("tables.json", "scope"),
        code=code("associations"),
    output:
        tests="results/internal/tests/{scope}.parquet",
    log:
        "results/logs/associations/{scope}.log",
    params:
        estimation=config["estimation"],
        tabulation=config["tabulation"],
        significance=config["significance"],
        fielding=lambda wildcards: {w: [WAVES[w].fielded_from, WAVES[w].fielded_to] for w in scope_waves(wildcards.scope)},
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/associations.py"


rule families:
    input:
        scope_tests=expand("results/internal/tests/{scope}.parquet", scope=SCOPES),
        cells=expand("results/internal/cells/{wave}.parquet", wave=WAVE_IDS),
        variables=expand(f"{PLAN_DIR}/{{scope}}.variables.yaml", scope=SCOPES),
        tables=f"{PLAN_DIR}/tables.json",
        code=code("families"),
    output:
        tests="results/internal/tests.csv",
    log:
        "results/logs/families.log",
    params:
        waves=WAVE_IDS,
        scopes=SCOPES,
        significance=config["significance"],
        claims=PLAN.claims(),
        release_scopes={wave: w.release_scope for wave, w in WAVES.items()},
        fielding={wave: [w.fielded_from, w.fielded_to] for wave, w in WAVES.items()},
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/families.py"
