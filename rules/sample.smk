# Batched sampling of N triples from the SFT model, from each DPO round's policy (dpo_r{round}), from
# the GRPO model (models in grpo.models), and
# of the best-of-N pool (the SFT model's stream, longer); every raw text is kept with a parse status.
# The final DPO source's samples are the last accepted round's (rules/iterative_dpo.smk).


rule sample:
    input:
        model=model_for_stage,
        triples=results_path("design_space/sft_triples.parquet"),
        enumeration=results_path("design_space/enumeration_counts.json"),
        base=base_model_folder,
    output:
        results_path("samples/{model}/{stage}.parquet"),
    log:
        results_path("logs/sample/{model}-{stage}.log"),
    benchmark:
        results_path("benchmarks/sample/{model}-{stage}.tsv")
    wildcard_constraints:
        stage="sft|grpo|dpo_r[1-9][0-9]*|bestofn_pool",
    conda:
        "../envs/alloypref.yaml"
    threads: model_threads
    resources:
        **model_job_resources(cpu_mem_mb=8000, cpu_runtime=120, gpu_mem_mb=32000, gpu_runtime=240),
    params:
        code=code_version("sample.py"),
        model=model_settings("sampling"),
        stage=sampling_overrides,
    script:
        "../workflow_scripts/sample.py"


# evaluation.fresh_batches more batches from a model stage, each as large as the stage's own samples:
# the intervals of unique@100 and COV-R (alloypref.evaluation.set_metrics). Never scored.
rule fresh_samples:
    input:
        model=model_for_stage,
        triples=results_path("design_space/sft_triples.parquet"),
        enumeration=results_path("design_space/enumeration_counts.json"),
        base=base_model_folder,
    output:
        results_path("samples/{model}/fresh/{stage}.parquet"),
    log:
        results_path("logs/sample/{model}-{stage}-fresh.log"),
    benchmark:
        results_path("benchmarks/sample/{model}-{stage}-fresh.tsv")
    wildcard_constraints:
        stage="sft|grpo|dpo_r[1-9][0-9]*",
    conda:
        "../envs/alloypref.yaml"
    threads: model_threads
    resources:
        **model_job_resources(cpu_mem_mb=8000, cpu_runtime=120, gpu_mem_mb=32000, gpu_runtime=240),
    params:
        code=code_version("sample.py"),
        model=model_settings("sampling"),
        stage=fresh_overrides,
    script:
        "../workflow_scripts/sample.py"
