# Batched sampling of N triples from the SFT or the DPO model of each {model}; every raw text is kept
# with a parse status.


rule sample:
    input:
        model=model_for_stage,
        triples=results_path("design_space/sft_triples.parquet"),
        enumeration=results_path("design_space/enumeration_counts.json"),
    output:
        results_path("samples/{model}/{stage}.parquet"),
    log:
        results_path("logs/sample/{model}-{stage}.log"),
    benchmark:
        results_path("benchmarks/sample/{model}-{stage}.tsv")
    conda:
        "../envs/alloypref.yaml"
    threads: model_threads
    resources:
        gpu=model_resources,
        mem_mb=8000,
        runtime=120,
    params:
        code=code_version("sample.py"),
        model=model_settings("sampling"),
        seed=config["seed"],
    script:
        "../workflow_scripts/sample.py"
