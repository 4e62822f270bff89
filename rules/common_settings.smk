# Config providers (no rules here): the slice of the config each stage depends on; and the check,
# at DAG build, that local models' folders exist (check_local_models, called by the Snakefile); the
# materialised folder of gguf models (rule base_model).
#
# Every config value a job uses reaches it through its rule's `params:` (the providers below), so
# Snakemake's params trigger reruns exactly the jobs a config change affects; scripts never read
# `snakemake.config`. Providers pass whole config blocks, minus the keys that belong to another
# stage, so keys added to a block later reach their jobs without editing the rules.
from pathlib import Path

from alloypref.lm.grpo import job_block as grpo_job_block


def grpo_settings(wildcards):
    """Config block grpo as the model's GRPO job reads it (its completion length resolved)."""
    return grpo_job_block(config["grpo"], config["models"][wildcards.model].get("sampling", {}))


def _without(block, *keys):
    return {key: value for key, value in block.items() if key not in keys}


# design_space keys read after the enumeration (curation filter, SFT triples), and the switch
# between shipped and computed lists (it picks rules; the enumeration does not depend on it)
_LATER_DESIGN_KEYS = ("filter", "volume", "prompt_template", "curated", "shipped")
# calphad keys only the scorer reads (the design-space filter has its own temperatures and limit)
_SCORING_CALPHAD_KEYS = ("temperatures_K", "timeout_s", "min_coverage", "database_aggregate", "trust")
# model keys of one stage each; the rest (source, path, size, LoRA, precision, threads) is shared
_MODEL_STAGE_KEYS = ("sft", "dpo", "sampling")
# evaluation keys of one rule each; the rest are Table 1 settings (rule metrics)
_EVALUATION_RULE_KEYS = ("bootstrap", "kl_samples", "top_k", "headline_cutoffs", "fresh_batches")


def run_config():
    """The resolved config a run's manifest records: all but where a cluster runs the jobs (config
    slurm), which changes no result and so reruns nothing."""
    return _without(config, "slurm")


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
        settings = _without(entry, "gpu", "gguf_path", *[key for key in _MODEL_STAGE_KEYS if key not in stages])
        if entry["source"] == "gguf":  # loaded from the folder rule base_model materialises
            settings["path"] = base_model_path(entry["pretrained"])
        return settings

    return params


def base_model_path(pretrained):
    """The folder rule base_model materialises a pinned pretrained model in."""
    return results_path(f"base_models/{pretrained}")


def base_model_folder(wildcards):
    """Input of a model's training, sampling and KL jobs: its materialised base model (gguf models), or
    nothing."""
    entry = config["models"][wildcards.model]
    return [base_model_path(entry["pretrained"])] if entry["source"] == "gguf" else []


def pretrained_gguf_path(wildcards):
    """A GGUF file on disk for a pinned model (models.<name>.gguf_path of a model that uses it), else None:
    rule base_model downloads it."""
    paths = {
        entry.get("gguf_path")
        for entry in config["models"].values()
        if entry["source"] == "gguf" and entry["pretrained"] == wildcards.pretrained and entry.get("gguf_path")
    }
    if len(paths) > 1:
        raise WorkflowError(
            f"models of pretrained {wildcards.pretrained!r} set different gguf_path values: {sorted(paths)}"
        )
    return paths.pop() if paths else None


def _round_of(stage):
    prefix = source_registry.ROUND_PREFIX
    return int(stage.removeprefix(prefix)) if stage.startswith(prefix) else 0


def samples_per_round(model):
    from alloypref.lm import iterative

    return iterative.samples_per_round(config, model)


def pool_size(model):
    from alloypref.lm import iterative

    return iterative.pool_size(config, model)


def model_seed(wildcards):
    """The seed of a model's branch: models.<name>.seed (set per replicate by replicates.seeds), else
    the global seed."""
    return config["models"][wildcards.model].get("seed", config["seed"])


def sampling_overrides(wildcards):
    """Per-stage sampling settings on top of models.<name>.sampling: a round's temperature and sample
    count, the best-of-N pool's size; and the seed of the stage's stream. The pool shares the SFT
    stream's seed, so its first samples are the SFT samples (already scored: the cache answers them)."""
    from alloypref.lm.iterative import round_temperature

    stage, seed = wildcards.stage, model_seed(wildcards)
    if stage == source_registry.SFT:
        return {"seed": seed}
    if stage == source_registry.GRPO:
        return {"seed": seed + 500_000}  # its own stream, apart from every round's
    if stage == "bestofn_pool":
        return {"seed": seed, "n": pool_size(wildcards.model)}
    r = _round_of(stage)
    return {
        "seed": seed + 1_000_000 * r,
        "n": samples_per_round(wildcards.model),
        "temperature": round_temperature(ITERATIVE["temperature"], r),
    }


def fresh_overrides(wildcards):
    """A stage's sampling settings for its fresh batches: its temperature, evaluation.fresh_batches
    times its sample count (cut into batches of that count by `batch`), and a seed of its own, apart
    from every stage's stream (alloypref.evaluation.set_metrics.fresh_seed)."""
    from alloypref.evaluation.set_metrics import fresh_seed

    from alloypref.lm.registry import sampling_n

    stage = sampling_overrides(wildcards)
    n = stage.get("n") or sampling_n(config, wildcards.model)
    batches = config["evaluation"]["fresh_batches"]
    return stage | {"seed": fresh_seed(stage["seed"]), "n": batches * n, "fresh_batch": n}


def random_n():
    """Triples of the random search (alloypref.sources.random_n)."""
    return source_registry.random_n(config)


def round_seed(wildcards):
    """Seed of round r's pairs and training: the model's seed in round 1, a new one in each later round."""
    return model_seed(wildcards) + int(wildcards.round) - 1


def shipped_curation_settings():
    """The settings the shipped lists must match (their change reruns the job that copies them)."""
    from alloypref.shipped_design_space import curation_settings

    return curation_settings(config)


def api_calphad(wildcards):
    """The scorer settings an agent_calphad_judge source runs CALPHAD with (None for the others)."""
    if config["baselines"]["api"][wildcards.name]["method"] != "agent_calphad_judge":
        return None
    return {"calphad": config["calphad"], "reward": config["reward"], "element_roles": config["element_roles"]}


def api_trust_evidence(wildcards):
    """The trust evidence inputs (phase checks, subsystem verdicts) of an agent_calphad_judge source;
    none for the others, which never score."""
    if config["baselines"]["api"][wildcards.name]["method"] != "agent_calphad_judge":
        return {}
    return {
        "phase_checks": results_path("databases/phase_inventory_phases.parquet"),
        "verdicts": results_path("databases/subsystem_verdicts.parquet"),
    }


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
