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
        html=report(
            results_path("databases/report_card.html"), caption="../report/report_card.rst", category="Databases"
        ),
        figure=report(
            results_path("figures/databases/agreement.png"),
            caption="../report/report_card_heat_map.rst",
            category="Databases",
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
    script:
        "../workflow_scripts/database_report_card.py"
