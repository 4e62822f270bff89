# Design space (Appendix A.2): enumerate -> CALPHAD single-phase filter (scattered) -> curated
# BCC and B2 lists -> SFT triples. With design_space.curated: shipped the curated lists come from the
# package and the curation rules are not defined, so no curation job is ever scheduled.


if SHIPPED_DESIGN_SPACE:

    localrules:
        shipped_design_space,

    # The curated lists shipped with the package (design_space.curated: shipped): the same six
    # artifacts as the curation rules below, copied instead of computed.
    rule shipped_design_space:
        output:
            candidates=results_path("design_space/candidates.parquet"),
            counts=results_path("design_space/enumeration_counts.json"),
            filtered=results_path("design_space/curation.parquet"),
            bcc=results_path("design_space/bcc.parquet"),
            b2=results_path("design_space/b2.parquet"),
            curation_counts=results_path("design_space/curation_counts.json"),
        log:
            results_path("logs/shipped_design_space.log"),
        benchmark:
            results_path("benchmarks/shipped_design_space.tsv")
        conda:
            "../envs/alloypref.yaml"
        resources:
            mem_mb=1000,
            runtime=5,
        params:
            code=code_version("shipped_design_space.py"),
            name=config["design_space"]["shipped"],
            data=shipped_design_space_version(),
            settings=shipped_curation_settings(),
            min_coverage=config["calphad"]["min_coverage"],
        script:
            "../workflow_scripts/shipped_design_space.py"

else:

    localrules:
        split_for_curation,
        curate,

    rule enumerate_candidates:
        input:
            seed_lists=seed_list_inputs,
        output:
            candidates=results_path("design_space/candidates.parquet"),
            counts=results_path("design_space/enumeration_counts.json"),
        log:
            results_path("logs/enumerate_candidates.log"),
        benchmark:
            results_path("benchmarks/enumerate_candidates.tsv")
        conda:
            "../envs/alloypref.yaml"
        resources:
            mem_mb=2000,
            runtime=10,
        params:
            code=code_version("enumerate_candidates.py"),
            design_space=enumeration_settings(),
            element_roles=config["element_roles"],
            calphad=backend_settings(),
        script:
            "../workflow_scripts/enumerate_candidates.py"

    rule split_for_curation:
        input:
            results_path("design_space/candidates.parquet"),
        output:
            scatter.curate(results_path("design_space/shards/{scatteritem}.candidates.parquet")),
        log:
            results_path("logs/split_for_curation.log"),
        benchmark:
            results_path("benchmarks/split_for_curation.tsv")
        conda:
            "../envs/alloypref.yaml"
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            code=code_version("split_for_curation.py"),
        script:
            "../workflow_scripts/split_for_curation.py"

    rule filter_candidates:
        input:
            candidates=results_path("design_space/shards/{scatteritem}.candidates.parquet"),
            # weakest-link trust evidence: the database is chosen by trust, untrusted candidates
            # are not kept
            phase_checks=results_path("databases/phase_inventory_phases.parquet"),
            verdicts=results_path("databases/subsystem_verdicts.parquet"),
        output:
            results_path("design_space/shards/{scatteritem}.filtered.parquet"),
        log:
            results_path("logs/filter_candidates/{scatteritem}.log"),
        benchmark:
            results_path("benchmarks/filter_candidates/{scatteritem}.tsv")
        conda:
            "../envs/alloypref.yaml"
        threads: 1
        # measured over the 32 shards of the shipped paper-scale curation (README, "The shipped design
        # space"): at most 4,371 MB peak and 260 CPU s per shard; mem_mb is that plus 25 %, runtime
        # 5x the CPU time plus a few candidates running to the filter's 120 s solver limit
        resources:
            mem_mb=5500,
            runtime=30,
        params:
            code=code_version("filter_candidates.py"),
            filter=config["design_space"]["filter"],
            trust=config["calphad"]["trust"],
            element_roles=config["element_roles"],
            calphad=backend_settings(),
        script:
            "../workflow_scripts/filter_candidates.py"

    rule curate:
        input:
            gather.curate(results_path("design_space/shards/{scatteritem}.filtered.parquet")),
        output:
            filtered=results_path("design_space/curation.parquet"),
            bcc=results_path("design_space/bcc.parquet"),
            b2=results_path("design_space/b2.parquet"),
            counts=results_path("design_space/curation_counts.json"),
        log:
            results_path("logs/curate.log"),
        benchmark:
            results_path("benchmarks/curate.tsv")
        conda:
            "../envs/alloypref.yaml"
        resources:
            mem_mb=2000,
            runtime=10,
        params:
            code=code_version("curate.py"),
            min_coverage=config["calphad"]["min_coverage"],
        script:
            "../workflow_scripts/curate.py"


rule enumerate_triples:
    input:
        bcc=results_path("design_space/bcc.parquet"),
        b2=results_path("design_space/b2.parquet"),
        enumeration=results_path("design_space/enumeration_counts.json"),
    output:
        triples=results_path("design_space/sft_triples.parquet"),
        counts=results_path("design_space/triples_counts.json"),
    log:
        results_path("logs/enumerate_triples.log"),
    benchmark:
        results_path("benchmarks/enumerate_triples.tsv")
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=code_version("enumerate_triples.py"),
        volume=config["design_space"]["volume"],
        prompt_template=config["design_space"]["prompt_template"],
        seed=config["seed"],
    script:
        "../workflow_scripts/enumerate_triples.py"
