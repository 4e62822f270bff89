# Database trust: the per-pair verdicts of the known phase facts that scoring chooses databases by.
# Without a facts table the summary is empty: every covered element pair counts as untested.


rule pair_summary_without_facts:
    output:
        results_path("databases/pair_summary.parquet"),
    log:
        results_path("logs/pair_summary_without_facts.log"),
    benchmark:
        results_path("benchmarks/pair_summary_without_facts.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=code_version("pair_summary_without_facts.py"),
    script:
        "../workflow_scripts/pair_summary_without_facts.py"
