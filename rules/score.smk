# CALPHAD scoring: triples -> shards -> rewards + phase tables. Shards are CPU jobs that take whole
# element sets; the shard count is config scoring.shards or --set-scatter score=N (new count, new
# file names: 1-of-N). A job runs one solver worker per thread (config scoring.workers; fewer when
# --cores gives it fewer); memory and time follow the measured per-worker and per-candidate costs.


rule prepare_triples:
    input:
        triples_input,
    output:
        results_path("triples/{source}.parquet"),
    log:
        results_path("logs/prepare_triples/{source}.log"),
    benchmark:
        results_path("benchmarks/prepare_triples/{source}.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=code_version("prepare_triples.py"),
    script:
        "../workflow_scripts/prepare_triples.py"


rule split_for_scoring:
    input:
        results_path("triples/{source}.parquet"),
    output:
        scatter.score(results_path("scores/{{source}}/shards/{scatteritem}.triples.parquet")),
    log:
        results_path("logs/split_for_scoring/{source}.log"),
    benchmark:
        results_path("benchmarks/split_for_scoring/{source}.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=code_version("split_for_scoring.py"),
    script:
        "../workflow_scripts/split_for_scoring.py"


rule score:
    input:
        triples=results_path("scores/{source}/shards/{scatteritem}.triples.parquet"),
        # weakest-link trust decides the database: new inventories, facts or databases rescore
        phase_checks=results_path("databases/phase_inventory_phases.parquet"),
        verdicts=results_path("databases/subsystem_verdicts.parquet"),
    output:
        rewards=results_path("scores/{source}/shards/{scatteritem}.rewards.parquet"),
        tables=results_path("scores/{source}/shards/{scatteritem}.phase_tables.parquet"),
    log:
        results_path("logs/score/{source}/{scatteritem}.log"),
    benchmark:
        results_path("benchmarks/score/{source}/{scatteritem}.tsv")
    conda:
        "../envs/alloypref.yaml"
    threads: config["scoring"]["workers"]
    resources:
        mem_mb=score_mem_mb,
        runtime=score_runtime,
        cpus_per_task=score_cpus,
    params:
        code=code_version("score_shard.py"),
        calphad=config["calphad"],
        element_roles=config["element_roles"],
        reward=config["reward"],
        checkpoint_every=config["scoring"]["checkpoint_every"],
    script:
        "../workflow_scripts/score_shard.py"


rule gather_scores:
    input:
        triples=results_path("triples/{source}.parquet"),
        rewards=gather.score(results_path("scores/{{source}}/shards/{scatteritem}.rewards.parquet")),
        tables=gather.score(results_path("scores/{{source}}/shards/{scatteritem}.phase_tables.parquet")),
    output:
        rewards=results_path("scores/{source}/rewards.parquet"),
        tables=results_path("scores/{source}/phase_tables.parquet"),
    log:
        results_path("logs/gather_scores/{source}.log"),
    benchmark:
        results_path("benchmarks/gather_scores/{source}.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=code_version("gather_scores.py"),
    script:
        "../workflow_scripts/gather_scores.py"
