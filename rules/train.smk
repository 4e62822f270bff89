# Training: SFT on the curated triples, DPO on the preference pairs (TRL). A model with gpu: true in
# config asks for resources gpu=1 (local profile: never two GPU jobs at once; SLURM: a GPU node).


rule sft:
    input:
        triples=results_path("design_space/sft_triples.parquet"),
    output:
        model=directory(results_path("models/{model}/sft")),
        curves=results_path("models/{model}/sft_curves.parquet"),
        figure=report(
            results_path("models/{model}/sft_curves.png"),
            caption="../report/sft_curves.rst",
            category="Training curves",
            subcategory="{model}",
        ),
    log:
        results_path("logs/sft/{model}.log"),
    benchmark:
        results_path("benchmarks/sft/{model}.tsv")
    conda:
        "../envs/alloypref.yaml"
    threads: model_threads
    resources:
        gpu=model_resources,
        mem_mb=8000,
        runtime=600,
    params:
        code=code_version("sft.py"),
        model=model_settings("sft"),
        training=config["training"],
        seed=config["seed"],
        workdir=lambda wildcards: results_path(f"checkpoints/{wildcards.model}/sft"),
    script:
        "../workflow_scripts/sft.py"


rule dpo:
    input:
        sft=results_path("models/{model}/sft"),
        pairs=results_path("pairs/{model}.parquet"),
    output:
        model=directory(results_path("models/{model}/dpo")),
        curves=results_path("models/{model}/dpo_curves.parquet"),
        figure=report(
            results_path("models/{model}/dpo_curves.png"),
            caption="../report/dpo_curves.rst",
            category="Training curves",
            subcategory="{model}",
        ),
    log:
        results_path("logs/dpo/{model}.log"),
    benchmark:
        results_path("benchmarks/dpo/{model}.tsv")
    conda:
        "../envs/alloypref.yaml"
    threads: model_threads
    resources:
        gpu=model_resources,
        mem_mb=8000,
        runtime=600,
    params:
        code=code_version("dpo.py"),
        model=model_settings("dpo"),
        training=config["training"],
        seed=config["seed"],
        workdir=lambda wildcards: results_path(f"checkpoints/{wildcards.model}/dpo"),
    script:
        "../workflow_scripts/dpo.py"
