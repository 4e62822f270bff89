# Design space (Appendix A.2): enumerate -> CALPHAD single-phase filter (scattered) -> curated
# BCC and B2 lists -> SFT triples.


rule enumerate_candidates:
    output:
        candidates="results/design_space/candidates.parquet",
        counts="results/design_space/enumeration_counts.json",
    log:
        "results/logs/enumerate_candidates.log",
    benchmark:
        "results/benchmarks/enumerate_candidates.tsv"
    params:
        code=DESIGN_SPACE_CODE,
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/calphad.yaml"
    script:
        "../workflow_scripts/enumerate_candidates.py"


rule split_for_curation:
    input:
        "results/design_space/candidates.parquet",
    output:
        scatter.curate("results/design_space/shards/{scatteritem}.candidates.parquet"),
    log:
        "results/logs/split_for_curation.log",
    benchmark:
        "results/benchmarks/split_for_curation.tsv"
    params:
        code=DESIGN_SPACE_CODE,
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/calphad.yaml"
    script:
        "../workflow_scripts/split_for_curation.py"


rule filter_candidates:
    input:
        "results/design_space/shards/{scatteritem}.candidates.parquet",
    output:
        "results/design_space/shards/{scatteritem}.filtered.parquet",
    log:
        "results/logs/filter_candidates/{scatteritem}.log",
    benchmark:
        "results/benchmarks/filter_candidates/{scatteritem}.tsv"
    params:
        code=DESIGN_SPACE_CODE,
    threads: 1
    resources:
        mem_mb=6000,
        runtime=120,
    conda:
        "../envs/calphad.yaml"
    script:
        "../workflow_scripts/filter_candidates.py"


rule curate:
    input:
        gather.curate("results/design_space/shards/{scatteritem}.filtered.parquet"),
    output:
        filtered="results/design_space/curation.parquet",
        bcc="results/design_space/bcc.parquet",
        b2="results/design_space/b2.parquet",
        counts="results/design_space/curation_counts.json",
    log:
        "results/logs/curate.log",
    benchmark:
        "results/benchmarks/curate.tsv"
    params:
        code=DESIGN_SPACE_CODE,
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/calphad.yaml"
    script:
        "../workflow_scripts/curate.py"


rule enumerate_triples:
    input:
        bcc="results/design_space/bcc.parquet",
        b2="results/design_space/b2.parquet",
        enumeration="results/design_space/enumeration_counts.json",
    output:
        triples="results/design_space/sft_triples.parquet",
        counts="results/design_space/triples_counts.json",
    log:
        "results/logs/enumerate_triples.log",
    benchmark:
        "results/benchmarks/enumerate_triples.tsv"
    params:
        code=DESIGN_SPACE_CODE,
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/calphad.yaml"
    script:
        "../workflow_scripts/enumerate_triples.py"
