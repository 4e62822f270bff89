# Cross-database agreement: a seeded sample of each source's candidates scored on every database that
# can compute them; rule-flag agreement, reward correlation and the DPO gain on the other database.


rule cross_database:
    input:
        rewards=results_path("scores/{source}/rewards.parquet"),
        phase_checks=results_path("databases/phase_inventory_phases.parquet"),
        verdicts=results_path("databases/subsystem_verdicts.parquet"),
    output:
        results_path("databases/cross_database/{source}.parquet"),
    log:
        results_path("logs/cross_database/{source}.log"),
    benchmark:
        results_path("benchmarks/cross_database/{source}.tsv")
    conda:
        "../envs/alloypref.yaml"
    threads: 1
    resources:
        mem_mb=6000,
        runtime=120,
    params:
        code=code_version("cross_database.py"),
        calphad=config["calphad"],
        element_roles=config["element_roles"],
        reward=config["reward"],
        cross_database=config["cross_database"],
    script:
        "../workflow_scripts/cross_database.py"


rule cross_database_summary:
    input:
        expand(results_path("databases/cross_database/{source}.parquet"), source=EVAL_SOURCES),
    output:
        agreement=results_path("databases/cross_database_agreement.parquet"),
        dpo_gain=results_path("databases/cross_database_dpo_gain.parquet"),
        markdown=results_path("databases/cross_database.md"),
        html=report(
            results_path("databases/cross_database.html"),
            caption="../report/cross_database.rst",
            category=CATEGORY["databases"],
        ),
    log:
        results_path("logs/cross_database_summary.log"),
    benchmark:
        results_path("benchmarks/cross_database_summary.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code_version("cross_database_summary.py"),
        sources=EVAL_SOURCES,
        models=MODELS,
        databases=[database["name"] for database in config["calphad"]["databases"]],
        reward=config["reward"],
    script:
        "../workflow_scripts/cross_database_summary.py"
