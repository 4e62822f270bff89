# CALPHAD scoring: triples -> shards -> rewards + phase tables. Shards are CPU jobs; the shard count
# is config scoring.shards or --set-scatter score=N (new count, new file names: 1-of-N).


rule prepare_triples:
    input:
        triples_input,
    output:
        "results/triples/{source}.parquet",
    log:
        "results/logs/prepare_triples/{source}.log",
    benchmark:
        "results/benchmarks/prepare_triples/{source}.tsv"
    params:
        code=SCORER_CODE,
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/calphad.yaml"
    script:
        "../workflow_scripts/prepare_triples.py"


rule split_for_scoring:
    input:
        "results/triples/{source}.parquet",
    output:
        scatter.score("results/scores/{{source}}/shards/{scatteritem}.triples.parquet"),
    log:
        "results/logs/split_for_scoring/{source}.log",
    benchmark:
        "results/benchmarks/split_for_scoring/{source}.tsv"
    params:
        code=SCORER_CODE,
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/calphad.yaml"
    script:
        "../workflow_scripts/split_for_scoring.py"


rule score:
    input:
        "results/scores/{source}/shards/{scatteritem}.triples.parquet",
    output:
        rewards="results/scores/{source}/shards/{scatteritem}.rewards.parquet",
        tables="results/scores/{source}/shards/{scatteritem}.phase_tables.parquet",
    log:
        "results/logs/score/{source}/{scatteritem}.log",
    benchmark:
        "results/benchmarks/score/{source}/{scatteritem}.tsv"
    params:
        code=SCORER_CODE,
    threads: 1
    resources:
        mem_mb=6000,
        runtime=240,
    conda:
        "../envs/calphad.yaml"
    script:
        "../workflow_scripts/score_shard.py"


rule gather_scores:
    input:
        triples="results/triples/{source}.parquet",
        rewards=gather.score("results/scores/{{source}}/shards/{scatteritem}.rewards.parquet"),
        tables=gather.score("results/scores/{{source}}/shards/{scatteritem}.phase_tables.parquet"),
    output:
        rewards="results/scores/{source}/rewards.parquet",
        tables="results/scores/{source}/phase_tables.parquet",
    log:
        "results/logs/gather_scores/{source}.log",
    benchmark:
        "results/benchmarks/gather_scores/{source}.tsv"
    params:
        code=SCORER_CODE,
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/calphad.yaml"
    script:
        "../workflow_scripts/gather_scores.py"
