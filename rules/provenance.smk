# The run manifest: resolved config and its hash, database hashes, package versions, seeds, commit.


rule manifest:
    output:
        "results/manifest.json",
    log:
        "results/logs/manifest.log",
    benchmark:
        "results/benchmarks/manifest.tsv"
    params:
        config_hash=CONFIG_HASH,
        code=code_version("."),
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/calphad.yaml"
    script:
        "../workflow_scripts/manifest.py"
