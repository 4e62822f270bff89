# Database report card: known phase facts (pure elements and pairs of the design space) scored on
# every configured database; the per-pair summary says which pairs each database can be trusted on.


rule database_report_card:
    input:
        facts=facts_input,  # none for the package's own facts (params: facts_version)
        # the design space's elements (design_space.elements, or every element with a role that a
        # configured database covers when that key is null)
        enumeration=results_path("design_space/enumeration_counts.json"),
    output:
        card=results_path("databases/report_card.parquet"),
        summary=results_path("databases/pair_summary.parquet"),
        verdicts=results_path("databases/subsystem_verdicts.parquet"),
        databases=results_path("databases/database_summary.parquet"),
        html=report(
            results_path("databases/report_card.html"),
            caption="../report/report_card.rst",
            category=CATEGORY["databases"],
        ),
        figure=report(
            results_path("figures/databases/agreement.png"),
            caption="../report/report_card_heat_map.rst",
            category=CATEGORY["databases"],
        ),
    log:
        results_path("logs/database_report_card.log"),
    benchmark:
        results_path("benchmarks/database_report_card.tsv")
    conda:
        "../envs/alloypref.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        code=code_version("database_report_card.py"),
        facts_version=facts_version(),
        report_card=_without(config["report_card"], "facts"),
        element_roles=config["element_roles"],
        calphad=backend_settings(),
        # solved shards, kept across runs (keyed by their facts, database and settings): resumable
        shard_dir=results_path("cache/report_card"),
    script:
        "../workflow_scripts/database_report_card.py"


# Phase inventory: which known competing phases (Laves, sigma, mu, B2 ...) of each element pair and
# ternary each configured database models; this, not the presence of BCC parameters, is coverage.
rule phase_inventory:
    output:
        status=results_path("databases/phase_inventory.parquet"),
        phases=results_path("databases/phase_inventory_phases.parquet"),
        html=report(
            results_path("databases/phase_inventory.html"),
            caption="../report/phase_inventory.rst",
            category=CATEGORY["databases"],
        ),
    log:
        results_path("logs/phase_inventory.log"),
    benchmark:
        results_path("benchmarks/phase_inventory.tsv")
    conda:
        "../envs/alloypref.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=code_version("phase_inventory.py"),
        # the package's inventory and kind map, by content (package paths would tie results to this checkout)
        data=inventory_version(),
        element_roles=config["element_roles"],
        calphad=backend_settings(),
    script:
        "../workflow_scripts/phase_inventory.py"
