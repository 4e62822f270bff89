# Shared names and input functions of the workflow (no rules here).
import hashlib
import json
from pathlib import Path

# Models of the registry ({model} wildcard) and the sources of scored triples: each model's SFT and
# DPO samples ({model}-sft, {model}-dpo) and the example triples of config scoring.triples.
MODELS = list(config["models"])
STAGES = ["sft", "dpo"]
MODEL_SOURCES = [f"{model}-{stage}" for model in MODELS for stage in STAGES]
EXTERNAL = list(config["baselines"]["external"])
API = list(config["baselines"].get("api", {}))  # language models behind an endpoint: rules/api_baselines.smk
BASELINES = (["random"] if config["baselines"]["random"] else []) + EXTERNAL + API
EVAL_SOURCES = MODEL_SOURCES + BASELINES  # what the metric tables compare
SOURCES = EVAL_SOURCES + ["example"]  # everything that is scored


wildcard_constraints:
    model="[A-Za-z0-9_]+",
    stage="sft|dpo",
    source="[A-Za-z0-9_]+(-sft|-dpo)?",


scattergather:
    score=config["scoring"]["shards"],


def code_version(*modules):
    """Hash of the package files a rule runs, so a code change reruns it (Snakemake does not watch src/)."""
    root = Path(workflow.basedir) / "src" / "alloypref"
    digest = hashlib.sha256()
    for module in modules:
        path = root / module
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


SCORER_CODE = code_version("composition.py", "reward.py", "scoring.py", "calphad", "config.py")


def triples_input(wildcards):
    """The triples a source is scored from: a model's samples, or the example triples."""
    if wildcards.source == "example":
        return config["scoring"]["triples"]
    if wildcards.source in BASELINES:
        return f"results/baselines/{wildcards.source}.parquet"
    model, _, stage = wildcards.source.rpartition("-")
    if model in MODELS and stage in STAGES:
        return f"results/samples/{model}/{stage}.parquet"
    raise ValueError(f"unknown source {wildcards.source!r}: expected 'example' or <model>-sft / <model>-dpo")


def model_resources(wildcards):
    """GPU models ask for the one local GPU (profiles/default caps gpu=1) or a cluster GPU."""
    return 1 if config["models"][wildcards.model].get("gpu") else 0


def model_for_stage(wildcards):
    """The trained model a sampling job reads."""
    return f"results/models/{wildcards.model}/{wildcards.stage}"


LM_CODE = code_version("lm", "design_space.py", "config.py")
EVAL_CODE = code_version("evaluation", "baselines", "composition.py", "design_space.py", "lm")


def random_n():
    """As many random triples as the first model samples, unless baselines.random_n says otherwise."""
    if config["baselines"]["random_n"]:
        return config["baselines"]["random_n"]
    first = next(iter(config["models"].values()))
    return first.get("sampling", {}).get("n", 128)


scattergather:
    curate=config["design_space"]["filter"]["shards"],


DESIGN_SPACE_CODE = code_version("composition.py", "design_space.py", "calphad", "config.py", "scoring.py")


_MODEL_BASE_KEYS = ["source", "path", "tiny", "lora", "load_in_8bit", "bf16", "trust_remote_code"]


def model_params(*keys):
    """The part of a model's config a rule depends on (so changing DPO settings does not rerun SFT)."""

    def params(wildcards):
        entry = config["models"][wildcards.model]
        chosen = {key: entry.get(key) for key in _MODEL_BASE_KEYS + list(keys)}
        return {"model": chosen, "seed": config["seed"], "training": config["training"]}

    return params


# Hash of the resolved config: the manifest is rewritten whenever the config changes.
CONFIG_HASH = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()
