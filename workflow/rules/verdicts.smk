# verdicts: the audit verdicts that changed since the latest release of the same kind of data; the run fails
# (results/STALE) when a primary printed number stopped reproducing, unless audit.fail_on_verdict_change is
# false. The manifest is an input so that this check comes last, when every result is written.


rule verdicts:
    input:
        audit="results/audit/published.csv",
        reference=reference_audit(),
        manifest="results/manifest.json",
        code=code("verdicts"),
    output:
        report="results/audit/verdicts.txt",
    log:
        "results/logs/verdicts.log",
    params:
        fail=config["audit"]["fail_on_verdict_change"],
    conda:
        "../envs/survey-audit.yaml"
    script:
        "../scripts/verdicts.py"
