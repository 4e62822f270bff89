# Evaluation: baselines as sources, Table 1 metrics, DPO-vs-SFT comparisons, KL, top candidates and
# the summary. Figures and tables are registered for `snakemake --report`.


rule random_baseline:
    input:
        candidates="results/design_space/candidates.parquet",
        enumeration="results/design_space/enumeration_counts.json",
    output:
        "results/baselines/random.parquet",
    log:
        "results/logs/random_baseline.log",
    benchmark:
        "results/benchmarks/random_baseline.tsv"
    params:
        code=EVAL_CODE,
        n=random_n(),
        seed=config["seed"],
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/evaluate.yaml"
    script:
        "../workflow_scripts/random_baseline.py"


rule import_external:
    input:
        generations=lambda wildcards: config["baselines"]["external"][wildcards.name],
        enumeration="results/design_space/enumeration_counts.json",
    output:
        triples="results/baselines/{name}.parquet",
        report="results/baselines/{name}_import.json",
    log:
        "results/logs/import_external/{name}.log",
    benchmark:
        "results/benchmarks/import_external/{name}.tsv"
    wildcard_constraints:
        name="|".join(EXTERNAL) if EXTERNAL else "^$",
    params:
        code=EVAL_CODE,
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/evaluate.yaml"
    script:
        "../workflow_scripts/import_external.py"


rule metrics:
    input:
        rewards=expand("results/scores/{source}/rewards.parquet", source=EVAL_SOURCES),
        bcc="results/design_space/bcc.parquet",
        b2="results/design_space/b2.parquet",
        enumeration="results/design_space/enumeration_counts.json",
    output:
        table="results/metrics/table1.parquet",
        markdown="results/metrics/table1.md",
        html=report("results/metrics/table1.html", caption="../report/table1.rst", category="Table 1"),
        curves="results/metrics/coverage_curves.parquet",
        figure=report("results/figures/coverage_curves.png", caption="../report/coverage_curves.rst", category="Table 1"),
    log:
        "results/logs/metrics.log",
    benchmark:
        "results/benchmarks/metrics.tsv"
    params:
        code=EVAL_CODE,
        sources=EVAL_SOURCES,
        settings=config["evaluation"],
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/evaluate.yaml"
    script:
        "../workflow_scripts/metrics.py"


rule compare:
    input:
        sft="results/scores/{model}-sft/rewards.parquet",
        dpo="results/scores/{model}-dpo/rewards.parquet",
        training="results/design_space/sft_triples.parquet",
    output:
        win_draw_loss="results/metrics/{model}/win_draw_loss.parquet",
        rules="results/metrics/{model}/rules.parquet",
        rule_change="results/metrics/{model}/rule_change.parquet",
        top_bcc="results/metrics/{model}/top_bcc.parquet",
        elements="results/metrics/{model}/element_frequency.parquet",
        tables=report("results/metrics/{model}/comparison.html", caption="../report/comparison.rst", category="DPO vs SFT", subcategory="{model}"),
        wdl_figure=report("results/figures/{model}/win_draw_loss.png", caption="../report/win_draw_loss.rst", category="DPO vs SFT", subcategory="{model}"),
        rules_figure=report("results/figures/{model}/rules.png", caption="../report/rules.rst", category="DPO vs SFT", subcategory="{model}"),
        elements_figure=report("results/figures/{model}/element_frequency.png", caption="../report/element_frequency.rst", category="DPO vs SFT", subcategory="{model}"),
        top_bcc_figure=report("results/figures/{model}/top_bcc.png", caption="../report/top_bcc.rst", category="DPO vs SFT", subcategory="{model}"),
    log:
        "results/logs/compare/{model}.log",
    benchmark:
        "results/benchmarks/compare/{model}.tsv"
    params:
        code=EVAL_CODE,
        settings=config["evaluation"],
        seed=config["seed"],
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/evaluate.yaml"
    script:
        "../workflow_scripts/compare.py"


rule kl:
    input:
        sft="results/models/{model}/sft",
        dpo="results/models/{model}/dpo",
        samples="results/samples/{model}/sft.parquet",
    output:
        table="results/metrics/{model}/kl.parquet",
        figure=report("results/figures/{model}/kl.png", caption="../report/kl.rst", category="DPO vs SFT", subcategory="{model}"),
    log:
        "results/logs/kl/{model}.log",
    benchmark:
        "results/benchmarks/kl/{model}.tsv"
    params:
        code=EVAL_CODE,
        settings=model_params("sft", "dpo"),
        n=config["evaluation"]["kl_samples"],
    threads: lambda wildcards: config["models"][wildcards.model]["threads"]
    resources:
        gpu=model_resources,
        mem_mb=8000,
        runtime=60,
    conda:
        "../envs/train.yaml"
    script:
        "../workflow_scripts/kl.py"


rule top_candidates:
    input:
        rewards="results/scores/{source}/rewards.parquet",
        tables="results/scores/{source}/phase_tables.parquet",
    output:
        report("results/figures/top/{source}.png", caption="../report/top_candidates.rst", category="Top candidates", subcategory="{source}"),
    log:
        "results/logs/top_candidates/{source}.log",
    benchmark:
        "results/benchmarks/top_candidates/{source}.tsv"
    params:
        code=EVAL_CODE,
        k=config["evaluation"]["top_k"],
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/evaluate.yaml"
    script:
        "../workflow_scripts/top_candidates.py"


rule summary:
    input:
        table="results/metrics/table1.md",
        comparisons=expand("results/metrics/{model}/win_draw_loss.parquet", model=MODELS),
        rules=expand("results/metrics/{model}/rule_change.parquet", model=MODELS),
        top_bcc=expand("results/metrics/{model}/top_bcc.parquet", model=MODELS),
        kl=expand("results/metrics/{model}/kl.parquet", model=MODELS),
        figures=expand("results/figures/top/{source}.png", source=EVAL_SOURCES),
        manifest="results/manifest.json",
    output:
        "results/summary.md",
    log:
        "results/logs/summary.log",
    benchmark:
        "results/benchmarks/summary.tsv"
    params:
        code=EVAL_CODE,
        models=MODELS,
        sources=EVAL_SOURCES,
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/evaluate.yaml"
    script:
        "../workflow_scripts/summary.py"
