# The run manifest: resolved config and its hash, database hashes, package versions, seeds, commit.


rule manifest:
    output:
        results_path("manifest.json"),
    log:
        results_path("logs/manifest.log"),
    benchmark:
        results_path("benchmarks/manifest.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code_version("manifest.py"),
        package=package_version(),
        config=run_config(),
    script:
        "../workflow_scripts/manifest.py"
