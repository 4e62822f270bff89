# Preference pairs (A.4) from the scored SFT samples of each {model}.


rule pairs:
    input:
        samples=results_path("samples/{model}/sft.parquet"),
        rewards=results_path("scores/{model}-sft/rewards.parquet"),
    output:
        results_path("pairs/{model}.parquet"),
    log:
        results_path("logs/pairs/{model}.log"),
    benchmark:
        results_path("benchmarks/pairs/{model}.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=code_version("pairs.py"),
        pairs=config["pairs"],
        reward=config["reward"],
        seed=config["seed"],
    script:
        "../workflow_scripts/pairs.py"
