# Training: SFT on the curated triples (TRL); the DPO rounds are in rules/iterative_dpo.smk. A model
# with gpu: true in config asks for resources gpu=1 (local profile: never two GPU jobs at once; SLURM: a GPU node).


rule sft:
    input:
        triples=results_path("design_space/sft_triples.parquet"),
        base=base_model_folder,
    output:
        model=directory(results_path("models/{model}/sft")),
        curves=results_path("models/{model}/sft_curves.parquet"),
        figure=report(
            results_path("models/{model}/sft_curves.png"),
            caption="../report/sft_curves.rst",
            category=CATEGORY["training"],
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
        **model_job_resources(cpu_mem_mb=8000, cpu_runtime=600, gpu_mem_mb=64000, gpu_runtime=2880),
    params:
        code=code_version("sft.py"),
        model=model_settings("sft"),
        training=config["training"],
        seed=model_seed,
        workdir=lambda wildcards: results_path(f"checkpoints/{wildcards.model}/sft"),
    script:
        "../workflow_scripts/sft.py"
