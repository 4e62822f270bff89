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
# DPO samples ({model}-sft, {model}-dpo: the last accepted round's), the samples of every DPO round
# ({model}-dpo_r{round}), the budget-matched baselines of each model ({model}-bestofn: best-of-N from
# the SFT model; {model}-random: random search), GRPO samples of the models in grpo.models
# ({model}-grpo) and the example triples of config scoring.triples.
MODELS = list(config["models"])
STAGES = ["sft", "dpo"]
ITERATIVE = config["iterative_dpo"]
ROUNDS = list(range(1, ITERATIVE["rounds"] + 1))
ROUND_STAGES = [f"dpo_r{r}" for r in ROUNDS]
BUDGET_KINDS = ["bestofn", "random"] if ITERATIVE["budget_baselines"] else []
GRPO_MODELS = list(config["grpo"]["models"])  # models with an online-RL stage (rules/grpo.smk)
MODEL_SOURCES = [
    f"{model}-{stage}" for model in MODELS for stage in STAGES + (["grpo"] if model in GRPO_MODELS else [])
]
BUDGET_SOURCES = [f"{model}-{kind}" for model in MODELS for kind in BUDGET_KINDS]
ROUND_SOURCES = [f"{model}-{stage}" for model in MODELS for stage in ROUND_STAGES]
EXTERNAL = list(config["baselines"]["external"])
API = list(config["baselines"].get("api", {}))  # language models behind an endpoint: rules/api_baselines.smk
BASELINES = (["random"] if config["baselines"]["random"] else []) + EXTERNAL + API
EVAL_SOURCES = MODEL_SOURCES + BUDGET_SOURCES + BASELINES  # what the metric tables compare
SOURCES = EVAL_SOURCES + ROUND_SOURCES + ["example"]  # everything that is scored


wildcard_constraints:
    model="[A-Za-z0-9_]+",
    stage="sft|dpo|grpo",
    round="[1-9][0-9]*",
    source="[A-Za-z0-9_]+(-sft|-dpo|-dpo_r[1-9][0-9]*|-bestofn|-random|-grpo)?",


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


def data_version(files):
    """Hash of data files the package ships (names and contents). Package data reaches its jobs by
    this hash in params, never as an input, which Snakemake records by its path; the package's
    absolute path would tie the results to this checkout (moved or copied, its jobs would rerun)."""
    digest = hashlib.sha256()
    for file in files:
        digest.update(Path(file).name.encode())
        digest.update(Path(file).read_bytes())
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


# design_space keys read after the enumeration (curation filter, SFT triples), and the switch
# between shipped and computed lists (it picks rules; the enumeration does not depend on it)
_LATER_DESIGN_KEYS = ("filter", "volume", "prompt_template", "curated", "shipped")
# calphad keys only the scorer reads (the design-space filter has its own temperatures and limit)
_SCORING_CALPHAD_KEYS = ("temperatures_K", "timeout_s", "min_coverage", "min_confidence", "untested_pair_weight")
# model keys of one stage each; the rest (source, path, size, LoRA, precision, threads) is shared
_MODEL_STAGE_KEYS = ("sft", "dpo", "sampling")
# evaluation keys of one rule each; the rest are Table 1 settings (rule metrics)
_EVALUATION_RULE_KEYS = ("bootstrap", "kl_samples", "top_k", "headline_cutoffs")


def enumeration_settings():
    """design_space keys of the enumeration (elements, sizes, seed lists)."""
    return _without(config["design_space"], *_LATER_DESIGN_KEYS)


def backend_settings():
    """calphad keys that build the backend (databases, solver settings, cache)."""
    return _without(config["calphad"], *_SCORING_CALPHAD_KEYS)


def table1_settings():
    """evaluation keys of Table 1 and the coverage curves."""
    return _without(config["evaluation"], *_EVALUATION_RULE_KEYS)


def headline_settings():
    """evaluation keys of the headline table (coverage cutoffs, reference mix, bootstrap resamples)."""
    keys = ("coverage_cutoff", "headline_cutoffs", "reference_fraction", "bootstrap")
    return {key: config["evaluation"][key] for key in keys}


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


def facts_input(wildcards):
    """The phase facts file of report_card.facts; none for the package's own (see facts_version)."""
    return config["report_card"]["facts"] or []


def facts_version():
    """Hash of the package's phase facts when report_card.facts is null (else the file is an input)."""
    return None if config["report_card"]["facts"] else data_version([PACKAGE / "data" / "phase_facts.csv"])


def triples_input(wildcards):
    """The triples a source is scored from: a model's samples, or the example triples."""
    if wildcards.source == "example":
        return config["scoring"]["triples"]
    if wildcards.source in BASELINES or wildcards.source in BUDGET_SOURCES:
        return results_path(f"baselines/{wildcards.source}.parquet")
    model, _, stage = wildcards.source.rpartition("-")
    if model in MODELS and (stage in STAGES or stage in ROUND_STAGES) or model in GRPO_MODELS and stage == "grpo":
        return results_path(f"samples/{model}/{stage}.parquet")
    raise ValueError(
        f"unknown source {wildcards.source!r}: expected 'example', a baseline or <model>-sft / -dpo / -dpo_r<round> / -grpo"
    )


def model_resources(wildcards):
    """GPU models ask for the one local GPU (profiles/default caps gpu=1) or a cluster GPU."""
    return 1 if config["models"][wildcards.model].get("gpu") else 0


def model_threads(wildcards):
    """torch CPU threads of a model's jobs (config models.<name>.threads)."""
    return config["models"][wildcards.model]["threads"]


def model_for_stage(wildcards):
    """The trained model a sampling job reads (the SFT model for the best-of-N pool)."""
    stage = "sft" if wildcards.stage == "bestofn_pool" else wildcards.stage
    return results_path(f"models/{wildcards.model}/{stage}")


def _round_of(stage):
    return int(stage.removeprefix("dpo_r")) if stage.startswith("dpo_r") else 0


def samples_per_round(model):
    from alloypref.lm import iterative

    return iterative.samples_per_round(config, model)


def pool_size(model):
    from alloypref.lm import iterative

    return iterative.pool_size(config, model)


def sampling_overrides(wildcards):
    """Per-stage sampling settings on top of models.<name>.sampling: a round's temperature and sample
    count, the best-of-N pool's size; and the seed of the stage's stream. The pool shares the SFT
    stream's seed, so its first samples are the SFT samples (already scored: the cache answers them)."""
    from alloypref.lm.iterative import round_temperature

    stage = wildcards.stage
    if stage == "sft":
        return {"seed": config["seed"]}
    if stage == "grpo":
        return {"seed": config["seed"] + 500_000}  # its own stream, apart from every round's
    if stage == "bestofn_pool":
        return {"seed": config["seed"], "n": pool_size(wildcards.model)}
    r = _round_of(stage)
    return {
        "seed": config["seed"] + 1_000_000 * r,
        "n": samples_per_round(wildcards.model),
        "temperature": round_temperature(ITERATIVE["temperature"], r),
    }


def random_n():
    from alloypref.sources import random_n

    return random_n(config)


# Margins of the scoring jobs' resources over the measured figures (README: cost model): memory 25 %
# over the per-worker peak (config scoring.worker_mem_mb holds the measured value) plus the
# scorer's own process; time twice the measured CPU cost (shards balanced by estimated cost differ
# by up to a third; a shared node runs slower), plus one candidate running to its time limit.
SCORE_MEM_MARGIN = 1.25
SCORER_PROCESS_MB = 1000
SCORE_TIME_MARGIN = 2.0
SCORE_MIN_RUNTIME = 10


# Scoring resources follow config scoring.workers, not the job's `threads`: a dry run (and a local
# run) caps threads at --cores, which would size a cluster job for one worker.
def score_cpus(wildcards):
    """Cores of a scoring job: one per solver worker (SLURM cpus_per_task)."""
    return config["scoring"]["workers"]


def score_mem_mb(wildcards):
    """Memory of a scoring job: its solver workers and the scorer process."""
    workers = config["scoring"]["workers"]
    return int(SCORER_PROCESS_MB + SCORE_MEM_MARGIN * workers * config["scoring"]["worker_mem_mb"])


def score_runtime(wildcards):
    """Minutes of a scoring job: its share of the source's cold CPU cost over its workers, with margin.

    A source whose size only its file knows (example, external CSVs) gets the largest configured
    source's size.
    """
    import math

    from alloypref.sources import source_sizes

    sizes = source_sizes(config)
    n = sizes.get(wildcards.source) or max([size or 0 for size in sizes.values()] + [1])
    per_shard = math.ceil(n / config["scoring"]["shards"])
    cpu_s = per_shard * config["scoring"]["cpu_s_per_candidate"]
    minutes = SCORE_TIME_MARGIN * cpu_s / config["scoring"]["workers"] / 60 + config["calphad"]["timeout_s"] / 60
    return max(SCORE_MIN_RUNTIME, math.ceil(minutes))


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


SHIPPED_DESIGN_SPACE = config["design_space"]["curated"] == "shipped"


def shipped_design_space_version():
    """Hash of the shipped design space's files (config design_space.shipped), after checking at DAG
    build that this config's curation settings are the ones it was curated with."""
    from alloypref.design_space import DesignSpaceError
    from alloypref.shipped_design_space import check_matches, load_shipped, shipped_files

    name = config["design_space"]["shipped"]
    try:
        check_matches(config, load_shipped(name).provenance, name)
        return data_version(shipped_files(name))
    except DesignSpaceError as exc:
        raise WorkflowError(str(exc)) from None


def shipped_curation_settings():
    """The settings the shipped lists must match (their change reruns the job that copies them)."""
    from alloypref.shipped_design_space import curation_settings

    return curation_settings(config)


# ---------------------------------------------------------------------------------------------
# Iterative DPO (rules/iterative_dpo.smk) and the simulator-call ledgers (rules/ledger.smk).


def _decision(model, round_number):
    return results_path(f"rounds/{model}/r{round_number}.json")


def _history(wildcards, last):
    """Decision of round `last` (if any) and the stages a round after it may continue from."""
    stages = ["sft"] + [f"dpo_r{k}" for k in range(1, last + 1)]
    inputs = {"decision": _decision(wildcards.model, last)} if last >= 1 else {}
    return stages, inputs


def pairs_inputs(wildcards):
    """Samples and rewards of every stage round r may start from, and round r-1's decision."""
    stages, inputs = _history(wildcards, int(wildcards.round) - 1)
    for stage in stages:
        inputs[f"samples_{stage}"] = results_path(f"samples/{wildcards.model}/{stage}.parquet")
        inputs[f"rewards_{stage}"] = results_path(f"scores/{wildcards.model}-{stage}/rewards.parquet")
    return inputs


def dpo_round_inputs(wildcards):
    """Round r's pairs, every policy it may start from, and round r-1's decision."""
    stages, inputs = _history(wildcards, int(wildcards.round) - 1)
    inputs["pairs"] = results_path(f"pairs/{wildcards.model}/r{wildcards.round}.parquet")
    for stage in stages:
        inputs[f"model_{stage}"] = results_path(f"models/{wildcards.model}/{stage}")
    return inputs


def final_inputs(wildcards):
    """The last round's decision and every stage's model, curves and samples."""
    stages, inputs = _history(wildcards, len(ROUNDS))
    for stage in stages:
        inputs[f"model_{stage}"] = results_path(f"models/{wildcards.model}/{stage}")
        inputs[f"samples_{stage}"] = results_path(f"samples/{wildcards.model}/{stage}.parquet")
        if stage != "sft":
            inputs[f"curves_{stage}"] = results_path(f"models/{wildcards.model}/{stage}_curves.parquet")
    return inputs


def round_seed(wildcards):
    """Seed of round r's pairs and training: the global seed in round 1, a new one in each later round."""
    return config["seed"] + int(wildcards.round) - 1


def ledger_steps(source):
    """(step name, rewards file) of a method, in the order its calls were spent."""
    model, _, stage = source.rpartition("-")
    if model in MODELS and stage == "dpo":
        steps = [("sft_samples", f"{model}-sft")] + [(f"round{r}", f"{model}-dpo_r{r}") for r in ROUNDS]
    elif model in MODELS and stage == "sft":
        steps = [("sft_samples", source)]
    else:
        steps = [("samples", source)]
    return [(name, results_path(f"scores/{scored}/rewards.parquet")) for name, scored in steps]
