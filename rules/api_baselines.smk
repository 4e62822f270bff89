# Language models behind an OpenAI-compatible endpoint as sources (config baselines.api; Appendix
# A.1.2-A.1.4). With baselines.api empty (the default) nothing here runs. Each request's answer is
# kept in <results_dir>/api_requests/{name}.jsonl; that log is not an output, so a failed, killed or
# reconfigured job keeps it and a rerun sends only what was never answered.


include: "api_common.smk"


rule api_baseline:
    input:
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
