# Iterative DPO (config iterative_dpo): round r of each {model} builds preference pairs from the
# scored samples of the current policy (the SFT model in round 1, then the last accepted round's),
# trains DPO from that policy (rule dpo_round), samples the new policy (rule sample, stage dpo_r{r})
# and scores it (source {model}-dpo_r{r}); rule accept_round rejects a round whose samples fall below
# the uniqueness floor. Rule dpo then names the final policy: models/{model}/dpo and the samples of
# source {model}-dpo are the last accepted round's (the SFT model's when no round was accepted).
# Rerun one round of one model like any rule: snakemake results/models/tiny/dpo_r2 -f


def _decision(model, round_number):
    return results_path(f"rounds/{model}/r{round_number}.json")


def _history(wildcards, last):
    """Decision of round `last` (if any) and the stages a round after it may continue from."""
    stages = ["sft"] + [f"dpo_r{k}" for k in range(1, last + 1)]
    inputs = {"decision": _decision(wildcards.model, last)} if last >= 1 else {}
    return stages, inputs


def pairs_inputs(wildcards):
    """Samples and rewards of every stage round r may start from, and round r-1's decision."""
    stages, inputs = _history(wildcards, int(wildcards.round) - 1)
    for stage in stages:
        inputs[f"samples_{stage}"] = results_path(f"samples/{wildcards.model}/{stage}.parquet")
        inputs[f"rewards_{stage}"] = results_path(f"scores/{wildcards.model}-{stage}/rewards.parquet")
    return inputs


def dpo_round_inputs(wildcards):
    """Round r's pairs, every policy it may start from, and round r-1's decision."""
    stages, inputs = _history(wildcards, int(wildcards.round) - 1)
    inputs["pairs"] = results_path(f"pairs/{wildcards.model}/r{wildcards.round}.parquet")
    for stage in stages:
        inputs[f"model_{stage}"] = results_path(f"models/{wildcards.model}/{stage}")
    return inputs


def final_inputs(wildcards):
    """The last round's decision and every stage's model, curves and samples."""
    stages, inputs = _history(wildcards, len(ROUNDS))
    for stage in stages:
        inputs[f"model_{stage}"] = results_path(f"models/{wildcards.model}/{stage}")
        inputs[f"samples_{stage}"] = results_path(f"samples/{wildcards.model}/{stage}.parquet")
        if stage != "sft":
            inputs[f"curves_{stage}"] = results_path(f"models/{wildcards.model}/{stage}_curves.parquet")
    return inputs


def round_seed(wildcards):
    """Seed of round r's pairs and training: the global seed in round 1, a new one in each later round."""
    return config["seed"] + int(wildcards.round) - 1


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
    output:
        model=directory(results_path("models/{model}/dpo_r{round}")),
        curves=results_path("models/{model}/dpo_r{round}_curves.parquet"),
        figure=report(
            results_path("models/{model}/dpo_r{round}_curves.png"),
            caption="../report/dpo_curves.rst",
            category="Training curves",
            subcategory="{model}",
        ),
    log:
        results_path("logs/dpo/{model}-r{round}.log"),
    benchmark:
        results_path("benchmarks/dpo/{model}-r{round}.tsv")
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
        seed=round_seed,
        reference=ITERATIVE["reference"],
        workdir=lambda wildcards: results_path(f"checkpoints/{wildcards.model}/dpo_r{wildcards.round}"),
    script:
        "../workflow_scripts/dpo.py"


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


rule dpo:
    input:
        unpack(final_inputs),
    output:
        model=directory(results_path("models/{model}/dpo")),
        curves=results_path("models/{model}/dpo_curves.parquet"),
        figure=report(
            results_path("models/{model}/dpo_curves.png"),
            caption="../report/dpo_curves.rst",
            category="Training curves",
            subcategory="{model}",
        ),
        samples=results_path("samples/{model}/dpo.parquet"),
    log:
        results_path("logs/dpo/{model}.log"),
    benchmark:
        results_path("benchmarks/dpo/{model}.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        code=code_version("final_policy.py"),
    script:
        "../workflow_scripts/final_policy.py"
