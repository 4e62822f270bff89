# Training: SFT on the curated triples, DPO on the preference pairs (TRL). A model with gpu: true in
# config asks for resources gpu=1 (local profile: never two GPU jobs at once; SLURM: a GPU node).


rule sft:
    input:
        triples="results/design_space/sft_triples.parquet",
    output:
        model=directory("results/models/{model}/sft"),
        curves="results/models/{model}/sft_curves.parquet",
        figure="results/models/{model}/sft_curves.png",
    log:
        "results/logs/sft/{model}.log",
    benchmark:
        "results/benchmarks/sft/{model}.tsv"
    params:
        code=LM_CODE,
        settings=model_params("sft"),
        workdir=lambda wildcards: f"results/checkpoints/{wildcards.model}/sft",
    threads: lambda wildcards: config["models"][wildcards.model]["threads"]
    resources:
        gpu=model_resources,
        mem_mb=8000,
        runtime=600,
    conda:
        "../envs/train.yaml"
    script:
        "../workflow_scripts/sft.py"


rule dpo:
    input:
        sft="results/models/{model}/sft",
        pairs="results/pairs/{model}.parquet",
    output:
        model=directory("results/models/{model}/dpo"),
        curves="results/models/{model}/dpo_curves.parquet",
        figure="results/models/{model}/dpo_curves.png",
    log:
        "results/logs/dpo/{model}.log",
    benchmark:
        "results/benchmarks/dpo/{model}.tsv"
    params:
        code=LM_CODE,
        settings=model_params("sft", "dpo"),
        workdir=lambda wildcards: f"results/checkpoints/{wildcards.model}/dpo",
    threads: lambda wildcards: config["models"][wildcards.model]["threads"]
    resources:
        gpu=model_resources,
        mem_mb=8000,
        runtime=600,
    conda:
        "../envs/train.yaml"
    script:
        "../workflow_scripts/dpo.py"
