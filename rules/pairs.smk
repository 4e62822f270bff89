# Preference pairs (A.4) from the scored SFT samples of each {model}.


rule pairs:
    input:
        samples="results/samples/{model}/sft.parquet",
        rewards="results/scores/{model}-sft/rewards.parquet",
    output:
        "results/pairs/{model}.parquet",
    log:
        "results/logs/pairs/{model}.log",
    benchmark:
        "results/benchmarks/pairs/{model}.tsv"
    params:
        code=LM_CODE,
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/train.yaml"
    script:
        "../workflow_scripts/pairs.py"
