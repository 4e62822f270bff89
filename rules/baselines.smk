# Baselines as sources: the random search (config baselines.random), external CSVs imported as
# triples (baselines.external), language models behind an OpenAI-compatible endpoint (baselines.api;
# Appendix A.1.2-A.1.4) and the budget-matched baselines of each {model} (best-of-N from the SFT
# model, random search), each cut to as many CALPHAD calls as the model's DPO pipeline spent.
#
# With baselines.api empty (the default) rule api_baseline runs nothing. Each request's answer is
# kept in <results_dir>/api_requests/{name}.jsonl; that log is not an output, so a failed, killed or
# reconfigured job keeps it and a rerun sends only what was never answered.


rule random_baseline:
    input:
        candidates=results_path("design_space/candidates.parquet"),
        enumeration=results_path("design_space/enumeration_counts.json"),
    output:
        results_path("baselines/random.parquet"),
    log:
        results_path("logs/random_baseline.log"),
    benchmark:
        results_path("benchmarks/random_baseline.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code_version("random_baseline.py"),
        n=random_n(),
        seed=config["seed"],
        element_roles=config["element_roles"],
    script:
        "../workflow_scripts/random_baseline.py"


rule import_external:
    input:
        generations=lambda wildcards: config["baselines"]["external"][wildcards.name],
        enumeration=results_path("design_space/enumeration_counts.json"),
    output:
        triples=results_path("baselines/{name}.parquet"),
        report=results_path("baselines/{name}_import.json"),
    log:
        results_path("logs/import_external/{name}.log"),
    benchmark:
        results_path("benchmarks/import_external/{name}.tsv")
    wildcard_constraints:
        name="|".join(EXTERNAL) if EXTERNAL else "^$",
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code_version("import_external.py"),
    script:
        "../workflow_scripts/import_external.py"


rule api_baseline:
    input:
        # weakest-link trust evidence (phase_checks, verdicts), for an agent_calphad_judge source only
        unpack(api_trust_evidence),
        exemplars=api_exemplars,
        enumeration=results_path("design_space/enumeration_counts.json"),
        known=api_known_lists,
    output:
        samples=results_path("baselines/{name}.parquet"),
        report=results_path("baselines/{name}_api.json"),
    log:
        results_path("logs/api_baseline/{name}.log"),
    benchmark:
        results_path("benchmarks/api_baseline/{name}.tsv")
    wildcard_constraints:
        name="|".join(API) if API else "^$",
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=2000,
        runtime=240,
    params:
        code=code_version("api_baseline.py"),
        prompts=API_PROMPTS,
        settings=lambda wildcards: config["baselines"]["api"][wildcards.name],
        calphad=api_calphad,
        seed=config["seed"],
        requests=lambda wildcards: results_path(f"api_requests/{wildcards.name}.jsonl"),
    script:
        "../workflow_scripts/api_baseline.py"


rule random_pool:
    input:
        candidates=results_path("design_space/candidates.parquet"),
        enumeration=results_path("design_space/enumeration_counts.json"),
    output:
        results_path("baselines/random_pool/{model}.parquet"),
    log:
        results_path("logs/random_pool/{model}.log"),
    benchmark:
        results_path("benchmarks/random_pool/{model}.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code_version("random_baseline.py"),
        n=lambda wildcards: pool_size(wildcards.model),
        seed=model_seed,
        element_roles=config["element_roles"],
    script:
        "../workflow_scripts/random_baseline.py"


rule budget_baseline:
    input:
        pool=lambda wildcards: (
            results_path(f"samples/{wildcards.model}/bestofn_pool.parquet")
            if wildcards.kind == "bestofn"
            else results_path(f"baselines/random_pool/{wildcards.model}.parquet")
        ),
        ledger=results_path("ledger/{model}-dpo.parquet"),
    output:
        results_path("baselines/{model}-{kind}.parquet"),
    log:
        results_path("logs/budget_baseline/{model}-{kind}.log"),
    benchmark:
        results_path("benchmarks/budget_baseline/{model}-{kind}.tsv")
    wildcard_constraints:
        kind="bestofn|random",
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code_version("budget_baseline.py"),
    script:
        "../workflow_scripts/budget_baseline.py"
