# Replicates (config replicates.seeds, alloypref.replicates): every model runs once per seed as
# {model}_s{seed}, its whole branch apart; this rule pools the per-seed rows of Table 1 and the
# headline table into a mean with a between-seed Student-t 95 % interval per method and metric.


rule replicates:
    input:
        table1=results_path("metrics/table1.parquet"),
        headline=results_path("metrics/headline.parquet"),
        matched=results_path("metrics/matched_calls.parquet"),
    output:
        table=results_path("metrics/replicates.parquet"),
        markdown=results_path("metrics/replicates.md"),
        html=report(
            results_path("metrics/replicates.html"),
            caption="../report/replicates.rst",
            category=CATEGORY["replicates"],
        ),
    log:
        results_path("logs/replicates.log"),
    benchmark:
        results_path("benchmarks/replicates.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code_version("replicates.py"),
        replicates=REPLICATES,
    script:
        "../workflow_scripts/replicates.py"
