# synthesize: regenerate a wave's synthetic stand-in from its spec (not part of the default target).
# `snakemake synthesize_all` writes results/synthetic/; the committed copies live in resources/synthetic/ and
# `survey-audit synthesize --check` confirms they are byte-identical to a fresh generation.


rule synthesize:
    input:
        spec="config/synthetic/{wave}.yaml",
        codebook=codebook_file,
        variables=plan_file("variables.yaml"),
        code=code("synthesize"),
    output:
        raw="results/synthetic/{wave}.csv",
        defects="results/synthetic/{wave}.defects.csv",
    log:
        "results/logs/synthesize/{wave}.log",
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/synthesize.py"


rule synthesize_all:
    input:
        expand("results/synthetic/{wave}.csv", wave=WAVE_IDS),
