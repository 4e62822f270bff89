# Batched sampling of N triples from the SFT or the DPO model of each {model}; every raw text is kept
# with a parse status.


rule sample:
    input:
        model=model_for_stage,
        triples="results/design_space/sft_triples.parquet",
        enumeration="results/design_space/enumeration_counts.json",
    output:
        "results/samples/{model}/{stage}.parquet",
    log:
        "results/logs/sample/{model}-{stage}.log",
    benchmark:
        "results/benchmarks/sample/{model}-{stage}.tsv"
    params:
        code=LM_CODE,
        settings=model_params("sft", "dpo", "sampling"),
    threads: lambda wildcards: config["models"][wildcards.model]["threads"]
    resources:
        gpu=model_resources,
        mem_mb=8000,
        runtime=120,
    conda:
        "../envs/train.yaml"
    script:
        "../workflow_scripts/sample.py"
