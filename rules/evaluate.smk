# Evaluation: Table 1 metrics, DPO-vs-SFT comparisons, KL, top candidates and
# the summary. Figures and tables are registered for `snakemake --report`.


rule metrics:
    input:
        rewards=expand(results_path("scores/{source}/rewards.parquet"), source=EVAL_SOURCES),
        bcc=results_path("design_space/bcc.parquet"),
        b2=results_path("design_space/b2.parquet"),
        enumeration=results_path("design_space/enumeration_counts.json"),
    output:
        table=results_path("metrics/table1.parquet"),
        markdown=results_path("metrics/table1.md"),
        html=report(results_path("metrics/table1.html"), caption="../report/table1.rst", category=CATEGORY["table1"]),
        curves=results_path("metrics/coverage_curves.parquet"),
        figure=report(
            results_path("figures/coverage_curves.png"),
            caption="../report/coverage_curves.rst",
            category=CATEGORY["table1"],
        ),
    log:
        results_path("logs/metrics.log"),
    benchmark:
        results_path("benchmarks/metrics.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        code=code_version("metrics.py"),
        sources=EVAL_SOURCES,
        evaluation=table1_settings(),
        reward=config["reward"],
    script:
        "../workflow_scripts/metrics.py"


rule compare:
    input:
        sft=sft_pool_rewards,
        dpo=results_path("scores/{model}-dpo/rewards.parquet"),
        training=results_path("design_space/sft_triples.parquet"),
    output:
        win_draw_loss=results_path("metrics/{model}/win_draw_loss.parquet"),
        rules=results_path("metrics/{model}/rules.parquet"),
        rule_change=results_path("metrics/{model}/rule_change.parquet"),
        top_bcc=results_path("metrics/{model}/top_bcc.parquet"),
        elements=results_path("metrics/{model}/element_frequency.parquet"),
        tables=report(
            results_path("metrics/{model}/comparison.html"),
            caption="../report/comparison.rst",
            category=CATEGORY["dpo"],
            subcategory="{model}",
        ),
        wdl_figure=report(
            results_path("figures/{model}/win_draw_loss.png"),
            caption="../report/win_draw_loss.rst",
            category=CATEGORY["dpo"],
            subcategory="{model}",
        ),
        rules_figure=report(
            results_path("figures/{model}/rules.png"),
            caption="../report/rules.rst",
            category=CATEGORY["dpo"],
            subcategory="{model}",
        ),
        elements_figure=report(
            results_path("figures/{model}/element_frequency.png"),
            caption="../report/element_frequency.rst",
            category=CATEGORY["dpo"],
            subcategory="{model}",
        ),
        top_bcc_figure=report(
            results_path("figures/{model}/top_bcc.png"),
            caption="../report/top_bcc.rst",
            category=CATEGORY["dpo"],
            subcategory="{model}",
        ),
    log:
        results_path("logs/compare/{model}.log"),
    benchmark:
        results_path("benchmarks/compare/{model}.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=code_version("compare.py"),
        bootstrap=config["evaluation"]["bootstrap"],
        seed=config["seed"],
    script:
        "../workflow_scripts/compare.py"


rule kl:
    input:
        sft=results_path("models/{model}/sft"),
        dpo=results_path("models/{model}/dpo"),
        samples=results_path("samples/{model}/sft.parquet"),
        enumeration=results_path("design_space/enumeration_counts.json"),
        base=base_model_folder,
    output:
        table=results_path("metrics/{model}/kl.parquet"),
        figure=report(
            results_path("figures/{model}/kl.png"),
            caption="../report/kl.rst",
            category=CATEGORY["dpo"],
            subcategory="{model}",
        ),
    log:
        results_path("logs/kl/{model}.log"),
    benchmark:
        results_path("benchmarks/kl/{model}.tsv")
    conda:
        "../envs/alloypref.yaml"
    threads: model_threads
    resources:
        **model_job_resources(cpu_mem_mb=8000, cpu_runtime=60, gpu_mem_mb=32000, gpu_runtime=120),
    params:
        code=code_version("kl.py"),
        model=model_settings(),
        n=config["evaluation"]["kl_samples"],
    script:
        "../workflow_scripts/kl.py"


rule top_candidates:
    input:
        rewards=results_path("scores/{source}/rewards.parquet"),
        tables=results_path("scores/{source}/phase_tables.parquet"),
    output:
        report(
            results_path("figures/top/{source}.png"),
            caption="../report/top_candidates.rst",
            category=CATEGORY["top"],
            subcategory="{source}",
        ),
    log:
        results_path("logs/top_candidates/{source}.log"),
    benchmark:
        results_path("benchmarks/top_candidates/{source}.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=code_version("top_candidates.py"),
        k=config["evaluation"]["top_k"],
    script:
        "../workflow_scripts/top_candidates.py"


rule verdict:
    input:
        headline=results_path("metrics/headline.parquet"),
        rounds=results_path("metrics/rounds.parquet"),
        comparisons=expand(results_path("metrics/{model}/win_draw_loss.parquet"), model=MODELS),
    output:
        table=results_path("metrics/verdict.parquet"),
        markdown=results_path("metrics/verdict.md"),
        html=report(results_path("metrics/verdict.html"), caption="../report/verdict.rst", category=CATEGORY["verdict"]),
    log:
        results_path("logs/verdict.log"),
    benchmark:
        results_path("benchmarks/verdict.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code_version("verdict.py"),
        models=MODELS,
        bootstrap=config["evaluation"]["bootstrap"],
        seed=config["seed"],
    script:
        "../workflow_scripts/verdict.py"


rule explorer:
    input:
        rewards=expand(results_path("scores/{source}/rewards.parquet"), source=SOURCES),
        tables=expand(results_path("scores/{source}/phase_tables.parquet"), source=SOURCES),
    output:
        report(results_path("explorer.html"), caption="../report/explorer.rst", category=CATEGORY["explorer"]),
    log:
        results_path("logs/explorer.log"),
    benchmark:
        results_path("benchmarks/explorer.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        code=code_version("explorer.py"),
        assets=EXPLORER_ASSETS,
        sources=SOURCES,
        max_candidates=config["evaluation"]["explorer_max_candidates"],
        mismatch=config["reward"]["mismatch"],
    script:
        "../workflow_scripts/explorer.py"


rule summary:
    input:
        table=results_path("metrics/table1.md"),
        headline=results_path("metrics/headline.md"),
        matched_calls=results_path("metrics/matched_calls.md"),
        verdict=results_path("metrics/verdict.parquet"),
        rounds=results_path("metrics/rounds.parquet"),
        comparisons=expand(results_path("metrics/{model}/win_draw_loss.parquet"), model=MODELS),
        rules=expand(results_path("metrics/{model}/rule_change.parquet"), model=MODELS),
        top_bcc=expand(results_path("metrics/{model}/top_bcc.parquet"), model=MODELS),
        kl=expand(results_path("metrics/{model}/kl.parquet"), model=MODELS),
        figures=expand(results_path("figures/top/{source}.png"), source=EVAL_SOURCES),
        manifest=results_path("manifest.json"),
        cross_database=results_path("databases/cross_database.md"),
    output:
        results_path("summary.md"),
    log:
        results_path("logs/summary.log"),
    benchmark:
        results_path("benchmarks/summary.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code_version("summary.py"),
        results=lambda wildcards: RESULTS,
        models=MODELS,
        sources=EVAL_SOURCES,
        round_sources=ROUND_SOURCES,
    script:
        "../workflow_scripts/summary.py"
