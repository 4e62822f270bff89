# Shared names and input functions of the workflow (no rules here).
#
# Every config value a job uses reaches it through its rule's `params:` (the providers below), so
# Snakemake's params trigger reruns exactly the jobs a config change affects; scripts never read
# `snakemake.config`. Providers pass whole config blocks, minus the keys that belong to another
# stage, so keys added to a block later reach their jobs without editing the rules.
import ast
import hashlib
from pathlib import Path

RESULTS = config["results_dir"].rstrip("/")


def results_path(path):
    """A path under this config's results root (config results_dir)."""
    return f"{RESULTS}/{path}"


# Models of the registry ({model} wildcard) and the sources of scored triples: each model's SFT and
# DPO samples ({model}-sft, {model}-dpo), GRPO samples of the models in grpo.models ({model}-grpo)
# and the example triples of config scoring.triples.
MODELS = list(config["models"])
STAGES = ["sft", "dpo"]
GRPO_MODELS = list(config["grpo"]["models"])  # models with an online-RL stage (rules/grpo.smk)
MODEL_SOURCES = [
    f"{model}-{stage}" for model in MODELS for stage in STAGES + (["grpo"] if model in GRPO_MODELS else [])
]
EXTERNAL = list(config["baselines"]["external"])
API = list(config["baselines"].get("api", {}))  # language models behind an endpoint: rules/api_baselines.smk
BASELINES = (["random"] if config["baselines"]["random"] else []) + EXTERNAL + API
EVAL_SOURCES = MODEL_SOURCES + BASELINES  # what the metric tables compare
SOURCES = EVAL_SOURCES + ["example"]  # everything that is scored


wildcard_constraints:
    model="[A-Za-z0-9_]+",
    stage="sft|dpo|grpo",
    source="[A-Za-z0-9_]+(-sft|-dpo|-grpo)?",


scattergather:
    score=config["scoring"]["shards"],
    curate=config["design_space"]["filter"]["shards"],


# ---------------------------------------------------------------------------------------------
# Code versions: Snakemake watches a rule's script file, not the package it imports, so each rule's
# params carry a hash of every package module its script imports, found by walking the imports.
PACKAGE = Path(workflow.basedir) / "src" / "alloypref"
SCRIPTS = Path(workflow.basedir) / "workflow_scripts"


def _module_file(name):
    """The file of module `alloypref.a.b` (or a `_helper` of the scripts), or None if it is not ours."""
    parts = name.split(".")
    if parts[0].startswith("_") and (SCRIPTS / f"{parts[0]}.py").is_file():
        return SCRIPTS / f"{parts[0]}.py"
    if parts[0] != "alloypref":
        return None
    base = PACKAGE.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_files(path):
    """Package files `path` imports (also inside functions), with the packages' __init__ files."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ["alloypref", *path.relative_to(PACKAGE).parent.parts] if PACKAGE in path.parents else []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names]  # `from pkg import module`
    files = set()
    for name in names:
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__
            found = _module_file(".".join(parts[:depth]))
            if found is not None:
                files.add(found)
    return files


def script_modules(script):
    """Every package module (and `_common.py`) the workflow script imports, transitively."""
    seen, todo = set(), [SCRIPTS / script]
    while todo:
        for found in _imported_files(todo.pop()):
            if found not in seen:
                seen.add(found)
                todo.append(found)
    return sorted(seen)


def code_version(script):
    """Hash of the package files a rule's script imports (paths and contents)."""
    digest = hashlib.sha256()
    for file in script_modules(script):
        digest.update(str(file.relative_to(workflow.basedir)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def package_version():
    """Hash of the whole package (the manifest records what ran)."""
    digest = hashlib.sha256()
    for file in sorted(PACKAGE.rglob("*.py")):
        digest.update(str(file.relative_to(workflow.basedir)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


# ---------------------------------------------------------------------------------------------
# Config providers: the slice of the config each stage depends on.


def _without(block, *keys):
    return {key: value for key, value in block.items() if key not in keys}


# design_space keys read after the enumeration (curation filter, SFT triples)
_LATER_DESIGN_KEYS = ("filter", "volume", "prompt_template")
# calphad keys only the scorer reads (the design-space filter has its own temperatures and limit)
_SCORING_CALPHAD_KEYS = ("temperatures_K", "timeout_s", "min_coverage")
# model keys of one stage each; the rest (source, path, size, LoRA, precision, threads) is shared
_MODEL_STAGE_KEYS = ("sft", "dpo", "sampling")
# evaluation keys of one rule each; the rest are Table 1 settings (rule metrics)
_EVALUATION_RULE_KEYS = ("bootstrap", "kl_samples", "top_k")


def enumeration_settings():
    """design_space keys of the enumeration (elements, sizes, seed lists)."""
    return _without(config["design_space"], *_LATER_DESIGN_KEYS)


def backend_settings():
    """calphad keys that build the backend (databases, solver settings, cache)."""
    return _without(config["calphad"], *_SCORING_CALPHAD_KEYS)


def table1_settings():
    """evaluation keys of Table 1 and the coverage curves."""
    return _without(config["evaluation"], *_EVALUATION_RULE_KEYS)


def model_settings(*stages):
    """The part of a model's config a job depends on: the shared keys plus the named stages, so
    changing DPO settings reruns nothing of the SFT branch."""

    def params(wildcards):
        entry = config["models"][wildcards.model]
        return _without(entry, "gpu", *[key for key in _MODEL_STAGE_KEYS if key not in stages])

    return params


def seed_list_inputs(wildcards):
    """The optional seed-list files of design_space.seed_lists (declared so edits rerun enumeration)."""
    return [path for path in config["design_space"]["seed_lists"].values() if path]


def triples_input(wildcards):
    """The triples a source is scored from: a model's samples, or the example triples."""
    if wildcards.source == "example":
        return config["scoring"]["triples"]
    if wildcards.source in BASELINES:
        return results_path(f"baselines/{wildcards.source}.parquet")
    model, _, stage = wildcards.source.rpartition("-")
    if model in MODELS and stage in STAGES or model in GRPO_MODELS and stage == "grpo":
        return results_path(f"samples/{model}/{stage}.parquet")
    raise ValueError(
        f"unknown source {wildcards.source!r}: expected 'example' or <model>-sft / <model>-dpo / <model>-grpo"
    )


def model_resources(wildcards):
    """GPU models ask for the one local GPU (profiles/default caps gpu=1) or a cluster GPU."""
    return 1 if config["models"][wildcards.model].get("gpu") else 0


def model_threads(wildcards):
    """torch CPU threads of a model's jobs (config models.<name>.threads)."""
    return config["models"][wildcards.model]["threads"]


def model_for_stage(wildcards):
    """The trained model a sampling job reads."""
    return results_path(f"models/{wildcards.model}/{wildcards.stage}")


def random_n():
    """As many random triples as the first model samples, unless baselines.random_n says otherwise."""
    if config["baselines"]["random_n"]:
        return config["baselines"]["random_n"]
    first = next(iter(config["models"].values()))
    if "n" in first.get("sampling", {}):
        return first["sampling"]["n"]
    from alloypref.lm.registry import SamplingSettings  # models.* defaults live in these dataclasses

    return SamplingSettings().n


def check_local_models():
    """Stop at DAG build when a `source: local` model's folder is missing, naming the config key."""
    problems = []
    for name, entry in config["models"].items():
        if entry["source"] != "local":
            continue
        path = entry.get("path")
        if not path or not Path(path).is_dir():
            problems.append(f"config key models.{name}.path: {path!r} is not a folder")
        elif not (Path(path) / "config.json").is_file():
            problems.append(
                f"config key models.{name}.path: {path} has no config.json (not a Hugging Face model folder)"
            )
    if problems:
        listing = "\n  ".join(problems)
        raise WorkflowError(
            f"local model folders missing (no model hub is reachable; download the weights and set the paths):\n  {listing}"
        )
