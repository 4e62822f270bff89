# Simulator-call ledgers (alloypref.ledger): every method's CALPHAD calls and all-rules hits per step
# (the budget-matched baselines that are cut to them are in rules/baselines.smk); and the headline
# table with its intervals.


rule ledger:
    input:
        lambda wildcards: [path for _, path in ledger_steps(wildcards.source)],
    output:
        results_path("ledger/{source}.parquet"),
    log:
        results_path("logs/ledger/{source}.log"),
    benchmark:
        results_path("benchmarks/ledger/{source}.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code_version("ledger.py"),
        steps=lambda wildcards: [name for name, _ in ledger_steps(wildcards.source)],
    script:
        "../workflow_scripts/ledger.py"


rule headline:
    input:
        rewards=expand(results_path("scores/{source}/rewards.parquet"), source=EVAL_SOURCES + ROUND_SOURCES),
        ledgers=expand(results_path("ledger/{source}.parquet"), source=EVAL_SOURCES),
        decisions=expand(results_path("rounds/{model}/r{round}.json"), model=MODELS, round=ROUNDS),
        bcc=results_path("design_space/bcc.parquet"),
        b2=results_path("design_space/b2.parquet"),
        fresh=[results_path("samples/{}/fresh/{}.parquet".format(*s.rsplit("-", 1))) for s in FRESH_SOURCES],
    output:
        table=results_path("metrics/headline.parquet"),
        markdown=results_path("metrics/headline.md"),
        html=report(
            results_path("metrics/headline.html"), caption="../report/headline.rst", category=CATEGORY["headline"]
        ),
        rounds=results_path("metrics/rounds.parquet"),
        hits_figure=report(
            results_path("figures/hits_per_call.png"),
            caption="../report/hits_per_call.rst",
            category=CATEGORY["headline"],
        ),
        rounds_figure=report(
            results_path("figures/rounds.png"), caption="../report/rounds.rst", category=CATEGORY["headline"]
        ),
    log:
        results_path("logs/headline.log"),
    benchmark:
        results_path("benchmarks/headline.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        code=code_version("headline.py"),
        sources=EVAL_SOURCES + ROUND_SOURCES,
        ledger_sources=EVAL_SOURCES,
        fresh_sources=FRESH_SOURCES,
        models=MODELS,
        rounds=ROUNDS,
        evaluation=headline_settings(),
        reward=config["reward"],
        seed=config["seed"],
    script:
        "../workflow_scripts/headline.py"


rule matched_calls:
    input:
        lambda wildcards: [path for steps in matched_call_steps().values() for _, path in steps],
    output:
        table=results_path("metrics/matched_calls.parquet"),
        markdown=report(
            results_path("metrics/matched_calls.md"),
            caption="../report/matched_calls.rst",
            category=CATEGORY["headline"],
        ),
    log:
        results_path("logs/matched_calls.log"),
    benchmark:
        results_path("benchmarks/matched_calls.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code_version("matched_calls.py"),
        steps=matched_call_steps(),
        models=MODELS,
    script:
        "../workflow_scripts/matched_calls.py"
