# Online RL: GRPO (or RLOO) from the SFT model of each model in config grpo.models, the CALPHAD
# reward scored during training; then the ledger of its CALPHAD calls (training + final samples).


rule grpo:
    input:
        sft=results_path("models/{model}/sft"),
        triples=results_path("design_space/sft_triples.parquet"),
        enumeration=results_path("design_space/enumeration_counts.json"),
        phase_checks=results_path("databases/phase_inventory_phases.parquet"),
        verdicts=results_path("databases/subsystem_verdicts.parquet"),
        base=base_model_folder,
    output:
        model=directory(results_path("models/{model}/grpo")),
        curves=results_path("models/{model}/grpo_curves.parquet"),
        scores=results_path("models/{model}/grpo_train_scores.parquet"),
        figure=report(
            results_path("models/{model}/grpo_curves.png"),
            caption="../report/grpo_curves.rst",
            category=CATEGORY["training"],
            subcategory="{model}",
        ),
    log:
        results_path("logs/grpo/{model}.log"),
    benchmark:
        results_path("benchmarks/grpo/{model}.tsv")
    wildcard_constraints:
        model="|".join(GRPO_MODELS) if GRPO_MODELS else "^$",
    conda:
        "../envs/alloypref.yaml"
    threads: model_threads
    resources:
        **model_job_resources(cpu_mem_mb=8000, cpu_runtime=600, gpu_mem_mb=64000, gpu_runtime=2880),
    params:
        code=code_version("grpo.py"),
        model=model_settings(),
        grpo=grpo_settings,
        calphad=config["calphad"],
        element_roles=config["element_roles"],
        reward=config["reward"],
        seed=model_seed,
        workdir=lambda wildcards: results_path(f"checkpoints/{wildcards.model}/grpo"),
    script:
        "../workflow_scripts/grpo.py"


# The generic rule ledger (rules/ledger.smk) could also name this file: GRPO's ledger has its own steps.
ruleorder: grpo_ledger > ledger


rule grpo_ledger:
    input:
        train=results_path("models/{model}/grpo_train_scores.parquet"),
        final=results_path("scores/{model}-grpo/rewards.parquet"),
    output:
        results_path("ledger/{model}-grpo.parquet"),
    log:
        results_path("logs/grpo_ledger/{model}.log"),
    benchmark:
        results_path("benchmarks/grpo_ledger/{model}.tsv")
    wildcard_constraints:
        model="|".join(GRPO_MODELS) if GRPO_MODELS else "^$",
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code_version("grpo_ledger.py"),
    script:
        "../workflow_scripts/grpo_ledger.py"
