# Iterative DPO (config iterative_dpo): round r of each {model} builds preference pairs from the
# scored samples of the current policy (the SFT model in round 1, then the last accepted round's),
# trains DPO from that policy (rule dpo_round), samples the new policy (rule sample, stage dpo_r{r})
# and scores it (source {model}-dpo_r{r}); rule accept_round rejects a round whose samples fall below
# the uniqueness floor. Rule final_dpo_policy then trains nothing: it copies the last accepted round's
# policy, curves and samples (the SFT model's when no round was accepted) to models/{model}/dpo and
# the samples of source {model}-dpo.
# Rerun one round of one model like any rule: snakemake results/models/tiny/dpo_r2 -f


rule pairs:
    input:
        unpack(pairs_inputs),
    output:
        results_path("pairs/{model}/r{round}.parquet"),
    log:
        results_path("logs/pairs/{model}-r{round}.log"),
    benchmark:
        results_path("benchmarks/pairs/{model}-r{round}.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=code_version("pairs.py"),
        pairs=config["pairs"],
        reward=config["reward"],
        seed=round_seed,
    script:
        "../workflow_scripts/pairs.py"


rule dpo_round:
    input:
        unpack(dpo_round_inputs),
        base=base_model_folder,
    output:
        model=directory(results_path("models/{model}/dpo_r{round}")),
        curves=results_path("models/{model}/dpo_r{round}_curves.parquet"),
        figure=report(
            results_path("models/{model}/dpo_r{round}_curves.png"),
            caption="../report/dpo_curves.rst",
            category=CATEGORY["training"],
            subcategory="{model}",
        ),
    log:
        results_path("logs/dpo_round/{model}-r{round}.log"),
    benchmark:
        results_path("benchmarks/dpo_round/{model}-r{round}.tsv")
    conda:
        "../envs/alloypref.yaml"
    threads: model_threads
    resources:
        **model_job_resources(cpu_mem_mb=8000, cpu_runtime=600, gpu_mem_mb=64000, gpu_runtime=2880),
    params:
        code=code_version("dpo_round.py"),
        model=model_settings("dpo"),
        training=config["training"],
        seed=round_seed,
        reference=ITERATIVE["reference"],
        workdir=lambda wildcards: results_path(f"checkpoints/{wildcards.model}/dpo_r{wildcards.round}"),
    script:
        "../workflow_scripts/dpo_round.py"


rule accept_round:
    input:
        unpack(lambda wildcards: _history(wildcards, int(wildcards.round) - 1)[1]),
        rewards=results_path("scores/{model}-dpo_r{round}/rewards.parquet"),
        sft=results_path("scores/{model}-sft/rewards.parquet"),
    output:
        results_path("rounds/{model}/r{round}.json"),
    log:
        results_path("logs/accept_round/{model}-r{round}.log"),
    benchmark:
        results_path("benchmarks/accept_round/{model}-r{round}.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code_version("accept_round.py"),
        min_unique=ITERATIVE["min_unique"],
    script:
        "../workflow_scripts/accept_round.py"


rule final_dpo_policy:
    input:
        unpack(final_inputs),
    output:
        model=directory(results_path("models/{model}/dpo")),
        curves=results_path("models/{model}/dpo_curves.parquet"),
        figure=report(
            results_path("models/{model}/dpo_curves.png"),
            caption="../report/dpo_curves.rst",
            category=CATEGORY["training"],
            subcategory="{model}",
        ),
        samples=results_path("samples/{model}/dpo.parquet"),
    log:
        results_path("logs/final_dpo_policy/{model}.log"),
    benchmark:
        results_path("benchmarks/final_dpo_policy/{model}.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        code=code_version("final_dpo_policy.py"),
    script:
        "../workflow_scripts/final_dpo_policy.py"
